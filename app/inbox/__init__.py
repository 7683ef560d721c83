"""The task inbox (待办): human tasks, their actions, comments, attachments, copies and notifications."""
