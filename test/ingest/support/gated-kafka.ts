// A real kafkajs client whose producers' send() the test can hold and fail: the fault injection
// point of ingest (IngestDepsOptions.kafka). Everything else (admin, metadata, the send itself)
// is the real client talking to the real broker.
import type { Kafka, Producer, ProducerConfig, ProducerRecord, RecordMetadata } from 'kafkajs';

export type SendFault =
  /** fail before the record is sent: it is not in Kafka */
  | 'before-send'
  /** send it for real, then fail as if the acknowledgement was lost: it IS in Kafka */
  | 'after-send';

export class SendGate {
  private held: Promise<void> | null = null;
  private release: (() => void) | null = null;
  private faults: SendFault[] = [];
  private waiting: (() => void)[] = [];
  /** send() calls that reached the gate */
  sends = 0;

  /** The next sends wait until open() (or fail, with `fail`). */
  hold(): void {
    this.held ??= new Promise((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release?.();
    this.held = null;
    this.release = null;
  }

  /** The next send fails this way (queued: one fault per send). */
  fail(fault: SendFault): void {
    this.faults.push(fault);
  }

  /** Resolves when at least `count` sends reached the gate. */
  async reached(count: number): Promise<void> {
    while (this.sends < count) await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  async run(record: ProducerRecord, send: (record: ProducerRecord) => Promise<RecordMetadata[]>): Promise<RecordMetadata[]> {
    this.sends += 1;
    for (const wake of this.waiting.splice(0)) wake();
    if (this.held) await this.held;
    const fault = this.faults.shift();
    if (fault === 'before-send') throw Object.assign(new Error('injected: connection lost before the request was written'), { name: 'KafkaJSConnectionError' });
    const acks = await send(record);
    if (fault === 'after-send') throw Object.assign(new Error('injected: request timed out after the broker appended the batch'), { name: 'KafkaJSRequestTimeoutError' });
    return acks;
  }
}

/** `real` with every producer's send() going through `gate`. */
export function gatedKafka(real: Kafka, gate: SendGate): Kafka {
  return new Proxy(real, {
    get(target, property, receiver) {
      if (property !== 'producer') return Reflect.get(target, property, receiver);
      return (config?: ProducerConfig): Producer => {
        const producer = target.producer(config);
        const send = producer.send.bind(producer);
        return Object.assign(producer, { send: (record: ProducerRecord) => gate.run(record, send) });
      };
    },
  });
}
