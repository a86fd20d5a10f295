// Consumes the service's chat streams with the real `ai` package: DefaultChatTransport to send
// and reconnect, readUIMessageStream to build the assistant's message, exactly as the desktop and
// web clients do. Run by tests/ai/test_node_sdk.py, which starts the server, a Celery worker and
// the fake LLM server, and scripts the replies in the order of the tests below.
//
// Environment: DBW_API (…/api/v1/workspaces/<id>), DBW_TOKEN (a bearer token), DBW_RESULTS (a
// file to write what the Python side checks in the database afterwards).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after, test } from 'node:test';

import * as ai7 from 'ai';
import * as ai5 from 'ai5';
import * as ai6 from 'ai6';

const API = process.env.DBW_API;
const TOKEN = process.env.DBW_TOKEN;
assert.ok(API && TOKEN, 'DBW_API and DBW_TOKEN must be set');
const results = {};

after(() => {
  if (process.env.DBW_RESULTS) writeFileSync(process.env.DBW_RESULTS, JSON.stringify(results));
});

function transport(sdk, headers = {}) {
  return new sdk.DefaultChatTransport({
    api: `${API}/chats`,
    headers: { Authorization: `Bearer ${TOKEN}`, ...headers },
    prepareSendMessagesRequest: ({ id, messages, trigger, messageId }) => ({
      api: `${API}/chats/${id}/messages`,
      body: { id, messages, trigger, messageId, context: { dialect: 'postgres' } },
    }),
    prepareReconnectToStreamRequest: ({ id }) => ({ api: `${API}/chats/${id}/stream` }),
  });
}

function userMessage(text) {
  return { id: randomUUID(), role: 'user', parts: [{ type: 'text', text }] };
}

// Chunk types as they arrive, and the message built from them (errors fail the test).
async function consume(sdk, stream, { message, onChunk } = {}) {
  const types = [];
  const errors = [];
  const tapped = stream.pipeThrough(
    new TransformStream({
      transform(chunk, controller) {
        types.push(chunk.type);
        onChunk?.(chunk, types);
        controller.enqueue(chunk);
      },
    }),
  );
  let last;
  for await (const snapshot of sdk.readUIMessageStream({
    message,
    stream: tapped,
    terminateOnError: true,
    onError: (error) => errors.push(error),
  })) {
    last = snapshot;
  }
  assert.deepEqual(errors, []);
  return { message: last, types };
}

function textOf(message) {
  return message.parts
    .filter((p) => p.type === 'text')
    .map((p) => p.text)
    .join('');
}

async function send(sdk, chatId, messages, options = {}) {
  return transport(sdk, options.headers).sendMessages({
    chatId,
    messages,
    trigger: 'submit-message',
    messageId: options.messageId,
    abortSignal: options.abortSignal,
  });
}

test('ai@7: a plain answer', async () => {
  const chatId = randomUUID();
  const stream = await send(ai7, chatId, [userMessage('How many users are there?')]);
  const { message, types } = await consume(ai7, stream);
  assert.equal(message.role, 'assistant');
  assert.equal(textOf(message), 'Hello from the SQL assistant.');
  assert.deepEqual(types.slice(0, 3), ['start', 'start-step', 'text-start']);
  assert.deepEqual(types.slice(-2), ['finish-step', 'finish']);
  results.plain = { chatId, messageId: message.id };
});

test('ai@7: a client-executed tool round trip continues the same message', async () => {
  const chatId = randomUUID();
  const question = userMessage('Which tables are there?');
  const first = await consume(ai7, await send(ai7, chatId, [question]));
  const call = first.message.parts.find((p) => p.type === 'tool-list_tables');
  assert.ok(call, JSON.stringify(first.message.parts));
  assert.equal(call.state, 'input-available');
  assert.deepEqual(call.input, { filter: 'user' });

  // The client runs the tool and sends its result (what addToolOutput does).
  const answered = {
    ...first.message,
    parts: first.message.parts.map((p) =>
      p.toolCallId === call.toolCallId
        ? { ...p, state: 'output-available', output: [{ name: 'users' }, { name: 'user_roles' }] }
        : p,
    ),
  };
  const second = await consume(
    ai7,
    await send(ai7, chatId, [question, answered], { messageId: answered.id }),
    { message: answered },
  );
  assert.equal(second.message.id, first.message.id, 'the continuation reuses the message id');
  assert.deepEqual(
    second.message.parts.map((p) => p.type),
    ['step-start', 'tool-list_tables', 'step-start', 'text'],
  );
  assert.equal(textOf(second.message), 'There are two tables: users and user_roles.');
  results.tool = { chatId, messageId: second.message.id };
});

test('ai@7: resume after a dropped connection replays from the start and follows live', async () => {
  const chatId = randomUUID();
  const controller = new AbortController();
  const stream = await send(ai7, chatId, [userMessage('Tell me a long story')], {
    abortSignal: controller.signal,
  });
  let startId;
  let deltas = 0;
  await assert.rejects(
    consume(ai7, stream, {
      onChunk: (chunk) => {
        if (chunk.type === 'start') startId = chunk.messageId;
        if (chunk.type === 'text-delta' && ++deltas === 3) controller.abort();
      },
    }),
  );
  assert.ok(startId);

  const resumed = await transport(ai7).reconnectToStream({ chatId });
  assert.ok(resumed, 'a generation is active');
  const { message, types } = await consume(ai7, resumed);
  assert.equal(types[0], 'start');
  assert.equal(message.id, startId);
  assert.equal(textOf(message), Array.from({ length: 30 }, (_, i) => `w${i}`).join(' '));
  // Once it is over there is nothing to resume: 204, which the SDK reads as null.
  assert.equal(await transport(ai7).reconnectToStream({ chatId }), null);
  results.resume = { chatId, messageId: message.id };
});

test('ai@7: stop ends the reply with abort and keeps what was written', async () => {
  const chatId = randomUUID();
  const stream = await send(ai7, chatId, [userMessage('Count to a hundred')]);
  let stopped;
  const { message, types } = await consume(ai7, stream, {
    onChunk: (chunk, seen) => {
      if (chunk.type === 'text-delta' && seen.filter((t) => t === 'text-delta').length === 3) {
        stopped = fetch(`${API}/chats/${chatId}/stop`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${TOKEN}` },
        }).then((r) => r.status);
      }
    },
  });
  assert.equal(await stopped, 202);
  assert.equal(types.at(-1), 'abort');
  assert.ok(!types.includes('finish'));
  const text = textOf(message);
  assert.ok(text.startsWith('n0 n1 n2'), text);
  assert.ok(text.split(' ').length < 100, 'stopped well before the end');
  results.stop = { chatId, messageId: message.id, text };
});

test('ai@5.0.0 (strict parser, no User-Agent): a plain answer', async () => {
  const chatId = randomUUID();
  const { message, types } = await consume(ai5, await send(ai5, chatId, [userMessage('hi')]));
  assert.equal(textOf(message), 'Hello again.');
  assert.equal(types.at(-1), 'finish');
  assert.equal(message.metadata.finish_reason, 'stop');
});

test('ai@6.0.0 (strict parser): a write becomes a tool approval request', async () => {
  const chatId = randomUUID();
  const { message, types } = await consume(
    ai6,
    await send(ai6, chatId, [userMessage('Delete the old sessions')]),
  );
  assert.ok(types.includes('tool-approval-request'), types.join());
  // Never "available": the SDK's onToolCall would run it before the approval request arrives.
  assert.ok(!types.includes('tool-input-available'), types.join());
  const call = message.parts.find((p) => p.type === 'tool-run_readonly_query');
  assert.equal(call.state, 'approval-requested');
  assert.deepEqual(call.input, { sql: 'DELETE FROM sessions' });
  assert.ok(call.approval.id);

  // Approving the token hands back the exact statement, once.
  const approve = () =>
    fetch(`${API}/ai/approvals/approve`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      // The token in the body: a URL would carry it into access logs.
      body: JSON.stringify({ token: call.approval.id, sql: call.input.sql }),
    });
  const first = await approve();
  assert.equal(first.status, 200);
  assert.equal((await first.json()).sql, 'DELETE FROM sessions');
  assert.equal((await approve()).status, 410);
});

test('ai@5.0.0 (strict parser): a write carries its approval token in the tool input', async () => {
  const chatId = randomUUID();
  const { message, types } = await consume(
    ai5,
    await send(ai5, chatId, [userMessage('Delete the old sessions')]),
  );
  assert.ok(!types.includes('tool-approval-request'));
  const call = message.parts.find((p) => p.type === 'tool-run_readonly_query');
  assert.equal(call.state, 'input-available');
  assert.equal(call.input.guardrail.kind, 'write');
  assert.ok(call.input.approval.token);
});
