"""Numbers into pictures and text: matplotlib figures, the summary as JSON, Markdown and HTML (Jinja2
templates in templates/), and the terminal leaderboard."""
