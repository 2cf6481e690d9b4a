"""Code shared by the project's MCP servers."""
