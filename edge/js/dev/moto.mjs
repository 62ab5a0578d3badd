// Starts moto's DynamoDB-compatible server on 127.0.0.1 for tests and the
// local emulator, and creates the table (AWS SDK v3: tests and local tools
// only, never the bundle).

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Dummy credentials: moto routes by the signature's scope and checks nothing else. */
export const LOCAL_ENV = Object.freeze({ AWS_ACCESS_KEY_ID: 'AKIDTESTTEST', AWS_SECRET_ACCESS_KEY: 'test-secret-key' });

/** A port the OS says is free on 127.0.0.1. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts moto on 127.0.0.1; resolves when it answers. `serialized` (the
 * default) runs moto's server app through moto_serialized.py, which handles
 * one request at a time as DynamoDB handles writes to one item (plain
 * `moto_server` lets two concurrent conditional writes both succeed);
 * `serialized: false` runs plain `moto_server -H 127.0.0.1 -p PORT`.
 */
export async function startMoto({ serialized = true } = {}) {
  const port = await freePort();
  const [command, args] = serialized
    ? ['python3', [join(here, 'moto_serialized.py'), '127.0.0.1', String(port)]]
    : ['moto_server', ['-H', '127.0.0.1', '-p', String(port)]];
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-2000);
  });
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`moto_server exited: ${stderr}`);
    try {
      await fetch(`${endpoint}/moto-api/`);
      break;
    } catch {
      if (i === 149) throw new Error(`moto_server did not answer on ${endpoint}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: LOCAL_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_ENV.AWS_SECRET_ACCESS_KEY },
  });
  return {
    endpoint,
    client,
    async stop() {
      client.destroy();
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}

/** Creates the token table as docs/dynamodb.md describes it (key `id`, a string). */
export async function createTable(client, table) {
  await client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/** The record of token `id`, read consistently (undefined when absent). */
export async function readRecord(client, table, id) {
  const out = await client.send(new GetItemCommand({ TableName: table, Key: { id: { S: id } }, ConsistentRead: true }));
  return out.Item;
}
