// Live results of one survey: an EventSource on /v1/surveys/:id/results/stream; every `snapshot`
// event is the full state, so each one simply replaces what is shown. Plain DOM, no framework.
const surveyId = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
const streamUrl = `/v1/surveys/${encodeURIComponent(surveyId)}/results/stream`;
const $ = (id) => document.getElementById(id);
const number = new Intl.NumberFormat();

$('survey-id').textContent = surveyId;

function setStatus(kind, text) {
  const status = $('status');
  status.className = `status ${kind}`;
  status.textContent = text;
}

// EventSource reconnects by itself after a dropped stream; a refused one (404, 429, 503) ends in
// CLOSED, and then the page retries on its own with a growing delay.
let retryDelayMs = 1000;
let source;
function connect() {
  source = new EventSource(streamUrl);
  source.addEventListener('open', () => setStatus('live', 'live'));
  source.addEventListener('snapshot', (event) => {
    retryDelayMs = 1000;
    setStatus('live', 'live');
    render(JSON.parse(event.data));
  });
  source.addEventListener('shutdown', () => setStatus('reconnecting', 'reconnecting…'));
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) {
      const seconds = Math.round(retryDelayMs / 1000);
      setStatus('offline', `offline · retry in ${seconds}s`);
      setTimeout(connect, retryDelayMs);
      retryDelayMs = Math.min(retryDelayMs * 2, 30_000);
    } else {
      setStatus('reconnecting', 'reconnecting…');
    }
  });
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Rows are kept between snapshots (keyed by id) so the bars animate instead of being rebuilt.
const questionNodes = new Map();

function questionNode(question) {
  let node = questionNodes.get(question.id);
  if (!node) {
    const section = element('section', 'question');
    const heading = element('h2');
    const list = element('div', 'options');
    section.append(heading, list);
    node = { section, heading, list, options: new Map() };
    questionNodes.set(question.id, node);
  }
  node.heading.textContent = question.title ?? `Question ${question.id}`;
  return node;
}

function optionNode(questionNode, option) {
  let node = questionNode.options.get(option.id);
  if (!node) {
    const row = element('div', 'option');
    row.dataset.optionId = option.id;
    const name = element('span', 'name');
    const label = element('span', 'text');
    name.append(label);
    const track = element('div', 'track');
    const fill = element('div', 'fill');
    track.append(fill);
    const count = element('span', 'count');
    const votes = element('span', 'votes');
    const pct = element('span', 'pct');
    count.append(votes, pct);
    row.append(name, track, count);
    node = { row, name, label, fill, votes, pct, image: null };
    questionNode.options.set(option.id, node);
  }
  node.label.textContent = option.text ?? `Option ${option.id}`;
  if (option.image && !node.image) {
    node.image = element('img');
    node.image.alt = '';
    node.image.src = option.image;
    node.name.prepend(node.image);
  }
  return node;
}

function votesPerMinute(minutes) {
  const current = Math.floor(Date.now() / 60000);
  const byMinute = new Map(minutes.map((bucket) => [bucket.minute, bucket.votes]));
  // The last complete minute, or the current one while the survey is younger than a minute.
  return byMinute.get(current - 1) ?? byMinute.get(current) ?? 0;
}

function renderMinutes(minutes) {
  const current = Math.floor(Date.now() / 60000);
  const byMinute = new Map(minutes.map((bucket) => [bucket.minute, bucket.votes]));
  const counts = Array.from({ length: 30 }, (_, i) => byMinute.get(current - 29 + i) ?? 0);
  const max = Math.max(1, ...counts);
  const box = $('minutes');
  while (box.children.length < counts.length) box.append(element('div', 'tick'));
  counts.forEach((count, i) => {
    const tick = box.children[i];
    tick.style.height = `${(100 * count) / max}%`;
    tick.title = `${number.format(count)} votes`;
  });
}

function render(snapshot) {
  document.title = `${snapshot.survey.title} · tally`;
  $('title').textContent = snapshot.survey.title;
  $('total').textContent = number.format(snapshot.totalResponses);
  $('rate').textContent = number.format(votesPerMinute(snapshot.minutes));
  $('updated').textContent = new Date(snapshot.generatedAt).toLocaleTimeString();
  $('snapshot-id').textContent = snapshot.snapshotId;
  renderMinutes(snapshot.minutes);

  const main = $('questions');
  const seen = new Set();
  for (const question of snapshot.questions) {
    const qNode = questionNode(question);
    seen.add(question.id);
    main.append(qNode.section); // appending an existing node moves it: keeps snapshot order
    const total = question.options.reduce((sum, option) => sum + option.votes, 0);
    const top = Math.max(0, ...question.options.map((option) => option.votes));
    for (const option of question.options) {
      const oNode = optionNode(qNode, option);
      qNode.list.append(oNode.row);
      oNode.votes.textContent = number.format(option.votes);
      oNode.pct.textContent = total > 0 ? `${Math.round((100 * option.votes) / total)}%` : '';
      oNode.fill.style.width = top > 0 ? `${(100 * option.votes) / top}%` : '0%';
      oNode.row.classList.toggle('leading', top > 0 && option.votes === top);
    }
    const listed = new Set(question.options.map((option) => option.id));
    for (const [id, node] of qNode.options) {
      if (!listed.has(id)) {
        node.row.remove();
        qNode.options.delete(id);
      }
    }
  }
  for (const [id, node] of questionNodes) {
    if (!seen.has(id)) {
      node.section.remove();
      questionNodes.delete(id);
    }
  }
}

connect();
