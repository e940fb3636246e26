// A topic's id (the UUID Kafka gives each topic at creation; a topic deleted and recreated under the
// same name gets a new one). kafkajs 2.2 speaks Metadata up to v6, which has no topic ids, so this
// file sends one Metadata v12 request itself (KIP-516, Kafka 2.8+) to a bootstrap broker and reads
// the answer up to the first topic's id. The aggregator stores the id with its offsets (RocksDB,
// Redis status) and stops a partition whose stored id is another (TALLY_ERR_TOPIC_ID).
import { connect } from 'node:net';
import { TallyError } from './errors.js';

const API_METADATA = 3;
const VERSION = 12;
const TIMEOUT_MS = 10_000;
const ERROR_UNKNOWN_TOPIC = 3;

function uvarint(value: number): Buffer {
  const bytes: number[] = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

/** Metadata v12 request for one topic, framed (size prefix), with header v2. */
export function metadataRequest(topic: string, correlationId: number, clientId: string): Buffer {
  const client = Buffer.from(clientId);
  const name = Buffer.from(topic);
  const header = Buffer.alloc(10);
  header.writeInt16BE(API_METADATA, 0);
  header.writeInt16BE(VERSION, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(client.length, 8);
  const body = Buffer.concat([
    client,
    uvarint(0), // header tagged fields
    uvarint(2), // topics: compact array of 1
    Buffer.alloc(16), // topic_id: zero (ask by name)
    uvarint(name.length + 1),
    name,
    uvarint(0), // topic tagged fields
    Buffer.from([0, 0]), // allow_auto_topic_creation, include_topic_authorized_operations
    uvarint(0), // tagged fields
  ]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length);
  return Buffer.concat([size, header, body]);
}

class Reader {
  constructor(
    private readonly buffer: Buffer,
    public at = 0,
  ) {}
  int8(): number {
    return this.buffer.readInt8((this.at += 1) - 1);
  }
  int16(): number {
    return this.buffer.readInt16BE((this.at += 2) - 2);
  }
  int32(): number {
    return this.buffer.readInt32BE((this.at += 4) - 4);
  }
  uvarint(): number {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = this.buffer[this.at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
  }
  compactString(): string | null {
    const length = this.uvarint() - 1;
    if (length < 0) return null;
    return this.buffer.toString('utf8', this.at, (this.at += length));
  }
  bytes(n: number): Buffer {
    return this.buffer.subarray(this.at, (this.at += n));
  }
  taggedFields(): void {
    for (let n = this.uvarint(); n > 0; n--) {
      this.uvarint();
      this.at += this.uvarint();
    }
  }
}

/** The topic id in a Metadata v12 response body (after the size prefix), as Kafka prints it (base64url). */
export function topicIdFromResponse(response: Buffer, topic: string): string {
  const r = new Reader(response);
  r.int32(); // correlation id
  r.taggedFields();
  r.int32(); // throttle_time_ms
  for (let brokers = r.uvarint() - 1; brokers > 0; brokers--) {
    r.int32();
    r.compactString();
    r.int32();
    r.compactString();
    r.taggedFields();
  }
  r.compactString(); // cluster_id
  r.int32(); // controller_id
  const topics = r.uvarint() - 1;
  if (topics < 1) throw new TallyError('TALLY_ERR_UNAVAILABLE', `Kafka metadata v12 listed no topic for ${topic}`);
  const errorCode = r.int16();
  const name = r.compactString();
  const id = r.bytes(16);
  if (errorCode === ERROR_UNKNOWN_TOPIC) throw new TallyError('TALLY_ERR_UNAVAILABLE', `topic ${topic} does not exist`);
  if (errorCode !== 0) throw new TallyError('TALLY_ERR_UNAVAILABLE', `Kafka metadata v12 for ${topic}: error code ${errorCode}`);
  if (name !== topic) throw new TallyError('TALLY_ERR_UNAVAILABLE', `Kafka metadata v12 answered for topic ${String(name)}, not ${topic}`);
  return id.toString('base64url');
}

/** Asks the brokers in order until one answers with the topic's id ("does not exist" is an answer). */
export async function fetchTopicId(brokers: readonly string[], topic: string, clientId = 'tally'): Promise<string> {
  let last: unknown;
  for (const broker of brokers) {
    try {
      return topicIdFromResponse(await roundTrip(broker, metadataRequest(topic, 1, clientId)), topic);
    } catch (error) {
      if (error instanceof TallyError && error.message.endsWith(`topic ${topic} does not exist`)) throw error;
      last = error;
    }
  }
  throw new TallyError('TALLY_ERR_UNAVAILABLE', `cannot read the id of topic ${topic}: ${(last as Error | undefined)?.message ?? 'no broker'}`, { cause: last });
}

function roundTrip(broker: string, request: Buffer): Promise<Buffer> {
  const colon = broker.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: broker.slice(0, colon), port: Number(broker.slice(colon + 1)) });
    const chunks: Buffer[] = [];
    let received = 0;
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error(`no metadata answer from ${broker} in ${TIMEOUT_MS} ms`)));
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      received += chunk.length;
      const all = Buffer.concat(chunks, received);
      if (all.length >= 4 && all.length >= 4 + all.readInt32BE(0)) {
        socket.end();
        resolve(all.subarray(4, 4 + all.readInt32BE(0)));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`connection to ${broker} closed before the metadata answer`)));
  });
}
