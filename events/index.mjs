// The events Lambda's entry point (Node.js 22, ESM), bundled by
// scripts/build-events.mjs into dist/events/index.mjs (handler
// `index.handler`) beside its own wasm (events/wasm: the core's stream
// reader). Configuration is the Lambda's environment (lambda.mjs,
// `eventsSettings`); the webhook secret is read from SSM Parameter Store
// (a SecureString), never from the environment.

import { readFileSync } from 'node:fs';
import * as wasm from 'oncelink:events-wasm';
import { awsClient } from './aws.mjs';
import { createEventsHandler } from './lambda.mjs';

wasm.initSync({ module: readFileSync(new URL('./oncelink_events_wasm_bg.wasm', import.meta.url)) });

/** The Lambda handler. */
export const handler = createEventsHandler({ wasm, aws: awsClient(process.env), env: process.env });
