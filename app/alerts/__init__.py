"""The alert centre (预警中心): overdue and due-soon tasks, abnormal-flow alerts and their closure."""
