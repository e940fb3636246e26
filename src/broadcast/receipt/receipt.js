// The /receipt page: a voter pastes a receipt; the page fetches its Merkle proof
// (GET /v1/receipts/:partition/:offset) and the published checkpoint (GET /v1/audit/checkpoints)
// and checks the RFC 6962 audit path here, with WebCrypto, showing every step. Rule:
// docs/counting-rules.md "Merkle root". No framework, no build step.
const $ = (id) => document.getElementById(id);
const HEX64 = /^[0-9a-f]{64}$/;

const hexToBytes = (hex) => Uint8Array.from(hex.match(/../g).map((b) => parseInt(b, 16)));
const bytesToHex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
const short = (hex) => `${hex.slice(0, 12)}…`;

async function node(left, right) {
  const data = new Uint8Array(65);
  data[0] = 1;
  data.set(left, 1);
  data.set(right, 33);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

function step(text, ok = true) {
  const item = document.createElement('li');
  item.className = ok ? 'ok' : 'bad';
  item.textContent = text;
  $('steps').append(item);
}

function verdict(kind, text) {
  $('verdict').className = `status ${kind}`;
  $('verdict').textContent = text;
}

function receiptOf(text) {
  const input = JSON.parse(text);
  const r = input && typeof input === 'object' && input.receipt ? input.receipt : input;
  if (!r || typeof r.topic !== 'string' || !Number.isInteger(r.partition) || !/^[0-9]+$/.test(String(r.offset)) || !HEX64.test(r.leafHash)) {
    throw new Error('this is not a receipt { topic, partition, offset, leafHash }');
  }
  return { topic: r.topic, partition: r.partition, offset: String(r.offset), leafHash: r.leafHash };
}

async function publishedCheckpoint(partition, id) {
  let after = null;
  do {
    const response = await fetch(`/v1/audit/checkpoints?partition=${partition}&limit=1000${after === null ? '' : `&after=${after}`}`);
    if (!response.ok) throw new Error(`GET /v1/audit/checkpoints: HTTP ${response.status}`);
    const page = await response.json();
    const found = page.checkpoints.find((c) => c.id === id);
    if (found) return found;
    after = page.next;
  } while (after !== null);
  return null;
}

/** RFC 9162 §2.1.3.2: the root an inclusion path leads to, one shown step per hash. */
async function rootFromPath(index, size, leaf, path) {
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const [i, hex] of path.entries()) {
    if (sn === 0) return null;
    const p = hexToBytes(hex);
    if (fn % 2 === 1 || fn === sn) {
      r = await node(p, r);
      step(`level ${i + 1}: sibling ${short(hex)} on the left → ${short(bytesToHex(r))}`);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn >>= 1; sn >>= 1; }
    } else {
      r = await node(r, p);
      step(`level ${i + 1}: sibling ${short(hex)} on the right → ${short(bytesToHex(r))}`);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 ? r : null;
}

async function check() {
  $('steps').replaceChildren();
  verdict('checking', 'checking');
  const fail = (text) => {
    step(text, false);
    verdict('disproved', 'not proven');
  };
  let receipt;
  try {
    receipt = receiptOf($('receipt').value);
  } catch (error) {
    fail(`cannot read the receipt: ${error.message}`);
    return;
  }
  step(`receipt: ${receipt.topic}, partition ${receipt.partition}, offset ${receipt.offset}, leaf ${short(receipt.leafHash)}`);
  const response = await fetch(`/v1/receipts/${receipt.partition}/${receipt.offset}`);
  if (response.status === 404) {
    const body = await response.json().catch(() => ({}));
    if (body.code === 'TALLY_ERR_RECEIPT_PENDING') {
      step(`no checkpoint covers this record yet: try again in ${response.headers.get('Retry-After') ?? 'a few'} s`, false);
      verdict('pending', 'pending');
      return;
    }
  }
  if (!response.ok) {
    step(`GET /v1/receipts: HTTP ${response.status}`, false);
    verdict('pending', 'could not check');
    return;
  }
  const proof = await response.json();
  const { checkpoint } = proof;
  if (proof.topic !== receipt.topic || proof.partition !== receipt.partition || proof.offset !== receipt.offset) return fail('the proof is for another record');
  if (proof.leafHash !== receipt.leafHash) return fail(`the log holds another record at this position (leaf ${short(proof.leafHash)})`);
  step('the record in the log at this position has your receipt\'s leaf hash');
  const index = Number(BigInt(receipt.offset) - BigInt(checkpoint.firstOffset));
  const size = Number(BigInt(checkpoint.lastOffset) - BigInt(checkpoint.firstOffset) + 1n);
  if (index < 0 || index >= size) return fail(`offset ${receipt.offset} is outside checkpoint ${checkpoint.id}`);
  step(`checkpoint ${checkpoint.id} covers offsets ${checkpoint.firstOffset}…${checkpoint.lastOffset}: leaf ${index} of ${size}, ${proof.auditPath.length} hashes to the root`);
  if (!proof.auditPath.every((h) => HEX64.test(h)) || !HEX64.test(checkpoint.merkleRoot)) return fail('the proof holds a value that is not a hash');
  const root = await rootFromPath(index, size, hexToBytes(receipt.leafHash), proof.auditPath);
  if (root === null) return fail('the audit path has the wrong length for this position');
  if (bytesToHex(root) !== checkpoint.merkleRoot) return fail(`the path leads to ${short(bytesToHex(root))}, not to the checkpoint's root ${short(checkpoint.merkleRoot)}`);
  step(`the path leads to the checkpoint's Merkle root ${short(checkpoint.merkleRoot)}`);
  const published = await publishedCheckpoint(receipt.partition, checkpoint.id);
  if (published === null) return fail(`GET /v1/audit/checkpoints does not list checkpoint ${checkpoint.id}`);
  if (published.merkleRoot !== checkpoint.merkleRoot || published.firstOffset !== checkpoint.firstOffset || published.lastOffset !== checkpoint.lastOffset) {
    return fail(`the published checkpoint ${checkpoint.id} has another root or range`);
  }
  step(`the published checkpoint ${checkpoint.id} has the same root: your record is in the log at this position`);
  verdict('proven', 'proven');
}

$('check').addEventListener('click', () => {
  check().catch((error) => {
    step(`could not check: ${error.message}`, false);
    verdict('pending', 'could not check');
  });
});
const initial = new URLSearchParams(location.search).get('receipt');
if (initial) {
  $('receipt').value = initial;
  $('check').click();
}
