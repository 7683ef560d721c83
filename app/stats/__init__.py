"""Statistics (统计分析): process and task figures by month, year-on-year and month-on-month, and the
monthly supervision report generated in the background as a PDF."""
