"""Metric writers: TensorBoard event files without TensorFlow, CLU method names."""
from opifex_fit.writers.summary_writer import SummaryWriter
