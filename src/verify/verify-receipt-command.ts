// `tally verify-receipt <file|-> [--url URL] [--json]`: reads a vote receipt (the 202 body or its
// `receipt`, or a proof a voter saved), fetches the proof from GET /v1/receipts/:partition/:offset
// unless the input is one, fetches the published checkpoint from GET /v1/audit/checkpoints, and
// checks it all (receipt-check.ts). Exit status: 0 proven, 1 disproved, 2 could not check (no
// checkpoint covers the record yet, the API unreachable, the input unreadable).
import { readFileSync } from 'node:fs';
import type { TallyConfig } from '../config.js';
import type { ReceiptProof } from './receipt-proofs.js';
import { checkReceipt, receiptOf, type PublishedCheckpoint, type ReceiptCheck } from './receipt-check.js';

export const EXIT_PROVEN = 0;
export const EXIT_DISPROVED = 1;
export const EXIT_UNCHECKED = 2;

class Unchecked extends Error {}

export interface VerifyReceiptOptions {
  /** Base URL of the public API (ingest); default http://127.0.0.1:<TALLY_INGEST_PORT>. */
  url?: string;
  json?: boolean;
}

export async function runVerifyReceipt(config: TallyConfig, source: string, options: VerifyReceiptOptions): Promise<number> {
  const base = (options.url ?? `http://127.0.0.1:${config.ports.ingest}`).replace(/\/$/, '');
  let check: ReceiptCheck;
  try {
    let input: unknown;
    try {
      input = JSON.parse(source === '-' ? readFileSync(0, 'utf8') : readFileSync(source, 'utf8'));
    } catch (error) {
      throw new Unchecked(`cannot read a JSON receipt from ${source === '-' ? 'stdin' : source}: ${(error as Error).message}`);
    }
    const receipt = receiptOf(input);
    if (receipt === null) throw new Unchecked('the input holds no receipt { topic, partition, offset, leafHash }');
    const given = input as Partial<ReceiptProof>;
    const proof = Array.isArray(given.auditPath) && given.checkpoint !== undefined ? (given as ReceiptProof) : await fetchProof(base, receipt.partition, receipt.offset);
    check = checkReceipt(receipt, proof, await fetchPublished(base, receipt.partition, proof.checkpoint.id));
  } catch (error) {
    const message = error instanceof Unchecked ? error.message : `${(error as Error).message ?? String(error)}`;
    if (options.json) process.stdout.write(`${JSON.stringify({ proven: null, error: message })}\n`);
    process.stderr.write(`tally verify-receipt: could not check: ${message}\n`);
    return EXIT_UNCHECKED;
  }
  process.stdout.write(options.json ? `${JSON.stringify(check, null, 2)}\n` : `${check.steps.join('\n')}\n`);
  return check.proven ? EXIT_PROVEN : EXIT_DISPROVED;
}

async function getJson(url: string): Promise<{ status: number; body: unknown; retryAfter: string | null }> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    throw new Unchecked(`${url}: ${(error as Error).message}`);
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: reported below with the status
  }
  return { status: response.status, body, retryAfter: response.headers.get('retry-after') };
}

async function fetchProof(base: string, partition: number, offset: string): Promise<ReceiptProof> {
  const { status, body, retryAfter } = await getJson(`${base}/v1/receipts/${partition}/${offset}`);
  if (status === 200) return body as ReceiptProof;
  const code = (body as { code?: string } | null)?.code ?? `HTTP ${status}`;
  if (code === 'TALLY_ERR_RECEIPT_PENDING') throw new Unchecked(`no checkpoint covers partition ${partition} offset ${offset} yet; try again in ${retryAfter ?? 'a few'} s`);
  throw new Unchecked(`GET /v1/receipts/${partition}/${offset}: ${code}`);
}

/** The checkpoint `id` of `partition` as the public audit API lists it (paged), or null. */
async function fetchPublished(base: string, partition: number, id: string): Promise<PublishedCheckpoint | null> {
  let after: string | null = null;
  do {
    const { status, body } = await getJson(`${base}/v1/audit/checkpoints?partition=${partition}&limit=1000${after === null ? '' : `&after=${after}`}`);
    if (status !== 200) throw new Unchecked(`GET /v1/audit/checkpoints: HTTP ${status}`);
    const page = body as { checkpoints: PublishedCheckpoint[]; next: string | null };
    const found = page.checkpoints.find((checkpoint) => checkpoint.id === id);
    if (found !== undefined) return found;
    after = page.next;
  } while (after !== null);
  return null;
}
