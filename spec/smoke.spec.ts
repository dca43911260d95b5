import { WebSocketServer, WebSocket } from 'ws';

// Proves the toolchain end to end: a real ws server on 127.0.0.1 port 0 and a real client.
test('a ws server on 127.0.0.1 port 0 echoes a message', async () => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  server.on('connection', (ws) => ws.on('message', (data) => ws.send(data.toString())));
  const { port } = server.address() as { port: number };
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  const echoed = await new Promise<string>((resolve, reject) => {
    client.on('error', reject);
    client.on('open', () => client.send('hello'));
    client.on('message', (data) => resolve(data.toString()));
  });
  expect(echoed).toBe('hello');
  await new Promise<void>((resolve) => { client.once('close', () => resolve()); client.close(); });
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
