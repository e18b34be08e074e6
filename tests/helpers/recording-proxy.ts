// A TCP listener that records every connection and drops it: pointed to as the HTTP(S) proxy of a child
// process, it proves whether that process tried to reach the network (onnxruntime-node's install script
// honours GLOBAL_AGENT_HTTP_PROXY through global-agent).
import { createServer, type Server } from 'node:net';

export interface RecordingProxy {
  url: string;
  /** The first line of each request seen (e.g. "CONNECT api.nuget.org:443 HTTP/1.1"). */
  requests: string[];
  connections(): number;
  close(): Promise<void>;
}

export async function recordingProxy(): Promise<RecordingProxy> {
  const requests: string[] = [];
  let count = 0;
  const server: Server = createServer((socket) => {
    count++;
    socket.once('data', (b) => {
      requests.push(b.toString('latin1').split('\r\n')[0]!);
      socket.destroy();
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('recording proxy has no port');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    connections: () => count,
    close: () => new Promise((res) => server.close(() => res())),
  };
}

/** Environment variables that route a child's HTTP(S) through the proxy. */
export function proxyEnv(url: string): Record<string, string> {
  return { GLOBAL_AGENT_HTTP_PROXY: url, GLOBAL_AGENT_HTTPS_PROXY: url, HTTPS_PROXY: url, HTTP_PROXY: url, https_proxy: url, http_proxy: url };
}
