// The test TCP proxy against a local echo server (no service): forwards, holds bytes while frozen
// and delivers them on restore, refuses connections once cut, and loses one reply on demand.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { within } from './wait.js';

let echo: net.Server;
let proxy: TcpProxy;

before(async () => {
  echo = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
  proxy = await startTcpProxy({ host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port });
});

after(async () => {
  await proxy.close();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

async function connected(): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

function received(socket: net.Socket, text: string): Promise<void> {
  let got = '';
  return within(
    new Promise<void>((resolve) => {
      socket.on('data', (chunk) => {
        got += chunk.toString();
        if (got === text) resolve();
      });
    }),
    { timeoutMs: 5000, what: () => `"${text}" back through the proxy (got "${got}")` },
  );
}

test('forwards both ways', async () => {
  const socket = await connected();
  const back = received(socket, 'hello');
  socket.write('hello');
  await back;
  assert.equal(proxy.state, 'forwarding');
  assert.ok(proxy.connections >= 1);
  socket.destroy();
});

test('bytes written while frozen arrive after restore; new connections wait too', async () => {
  const socket = await connected();
  proxy.freeze();
  const back = received(socket, 'held');
  socket.write('held');
  const late = await connected();
  const lateBack = received(late, 'late');
  late.write('late');
  assert.equal(proxy.state, 'frozen');
  proxy.restore();
  await Promise.all([back, lateBack]);
  socket.destroy();
  late.destroy();
});

test('cut closes open connections and refuses new ones until restored', async () => {
  const socket = await connected();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  proxy.cut();
  await within(closed, { timeoutMs: 5000, what: 'the open connection to close' });
  const refused = net.connect({ host: '127.0.0.1', port: proxy.port });
  refused.on('error', () => undefined);
  await within(new Promise<void>((resolve) => refused.once('close', () => resolve())), { timeoutMs: 5000, what: 'a new connection to be closed' });
  proxy.restore();
  const again = await connected();
  const back = received(again, 'back');
  again.write('back');
  await back;
  again.destroy();
});

test('loseReplyAfter drops the answer to the marked request and cuts that connection; others are untouched', async () => {
  const bystander = await connected();
  const socket = await connected();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  let got = '';
  socket.on('data', (chunk) => (got += chunk.toString()));
  const dropped = proxy.loseReplyAfter('MARK');
  socket.write('with MARK inside');
  await within(Promise.all([dropped, closed]), { timeoutMs: 5000, what: 'the reply to be dropped and the connection cut' });
  assert.equal(got, '', 'the echo never reached the client');
  const back = received(bystander, 'still here');
  bystander.write('still here');
  await back;
  bystander.destroy();
});
