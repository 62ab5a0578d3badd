// The page-mode flows in Chromium against the local Lambda@Edge emulator
// (scripts/dev-edge.mjs: the real bundle, moto as DynamoDB, a local origin
// directory; see flows.mjs).

import { defineFlows } from './flows.mjs';
import { startLambdaEdge } from './support/servers.mjs';

defineFlows('the Lambda@Edge emulator (moto)', startLambdaEdge);
