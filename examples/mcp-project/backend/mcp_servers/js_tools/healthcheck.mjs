// Container health: complete the MCP handshake (initialize) and list the tools.
const port = Number(process.env.MCP_PORT || 8104);
const url = `http://127.0.0.1:${port}/mcp`;
const headers = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };

async function post(body, extra = {}) {
  const res = await fetch(url, { method: "POST", headers: { ...headers, ...extra }, body: JSON.stringify(body), signal: AbortSignal.timeout(3000) });
  return res;
}

try {
  const init = await post({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "healthcheck", version: "1" } } });
  const session = init.headers.get("mcp-session-id");
  if (init.status !== 200 || !session) throw new Error(`initialize: HTTP ${init.status}`);
  const list = await (await post({ jsonrpc: "2.0", id: 2, method: "tools/list" }, { "Mcp-Session-Id": session })).json();
  if (!list.result || !Array.isArray(list.result.tools)) throw new Error("tools/list: no tools");
  await fetch(url, { method: "DELETE", headers: { "Mcp-Session-Id": session }, signal: AbortSignal.timeout(3000) });
  process.exit(0);
} catch (err) {
  console.error(String(err));
  process.exit(1);
}
