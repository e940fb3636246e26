// The votes and DLQ topics of one test (names from testConfig, unique per test): created the way
// the roles create them (ensureTopics), deleted when the test is done.
import type { Admin } from 'kafkajs';
import type { TallyConfig } from '../../src/config.js';
import { createKafka, ensureTopics } from '../../src/kafka.js';
import { createLogger } from '../../src/logger.js';

/** Runs `use` with a connected admin client (disconnected afterwards). */
export async function withAdmin<T>(config: TallyConfig, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = createKafka(config, 'test-topics', createLogger('test', config)).admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Creates the test's votes and DLQ topics if missing; `admin` if the test has one open. */
export async function createTestTopics(config: TallyConfig, admin?: Admin): Promise<void> {
  if (admin) await ensureTopics(admin, config);
  else await withAdmin(config, (own) => ensureTopics(own, config));
}

/**
 * Deletes the test's votes and DLQ topics; one that was never created is fine (a test that failed
 * early), any other failure is not (it would leave topics behind on the shared broker).
 */
export async function deleteTestTopics(config: TallyConfig, admin?: Admin): Promise<void> {
  const remove = async (client: Admin) => {
    const existing = new Set(await client.listTopics());
    const topics = [config.kafka.votesTopic, config.kafka.dlqTopic].filter((topic) => existing.has(topic));
    if (topics.length > 0) await client.deleteTopics({ topics });
  };
  if (admin) await remove(admin);
  else await withAdmin(config, remove);
}
