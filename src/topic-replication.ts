// How many copies of the votes topic and its DLQ Kafka keeps, decided when tally creates them.
// The votes topic is the system of record: with 3 brokers each record is on 3 of them and a write
// is acknowledged (acks=all) once 2 have it, so one broker may die without losing an acknowledged
// vote or refusing new ones. A single-broker development stack gets 1 and 1.
import type { TallyConfig } from './config.js';
import { TallyError } from './errors.js';

export interface TopicReplication {
  replicationFactor: number;
  minInsyncReplicas: number;
}

/**
 * TALLY_KAFKA_REPLICATION_FACTOR (default min(3, brokers)) and TALLY_KAFKA_MIN_INSYNC_REPLICAS
 * (default 2 with 3 replicas or more, else 1), checked against the cluster's size.
 */
export function topicReplication(brokers: number, kafka: TallyConfig['kafka']): TopicReplication {
  const replicationFactor = kafka.replicationFactor ?? Math.max(1, Math.min(3, brokers));
  if (replicationFactor > brokers) {
    throw new TallyError(
      'TALLY_ERR_CONFIG',
      `TALLY_KAFKA_REPLICATION_FACTOR=${replicationFactor} but the cluster has ${brokers} broker${brokers === 1 ? '' : 's'}: lower it or add brokers`,
    );
  }
  const minInsyncReplicas = kafka.minInsyncReplicas ?? (replicationFactor >= 3 ? 2 : 1);
  if (minInsyncReplicas > replicationFactor) {
    throw new TallyError(
      'TALLY_ERR_CONFIG',
      `TALLY_KAFKA_MIN_INSYNC_REPLICAS=${minInsyncReplicas} is above the replication factor ${replicationFactor}: no write could ever be acknowledged`,
    );
  }
  return { replicationFactor, minInsyncReplicas };
}
