// The page-mode flows in Chromium against origin-shim `serve --root` with a
// SQLite store (see flows.mjs).

import { defineFlows } from './flows.mjs';
import { startOriginShim } from './support/servers.mjs';

defineFlows('origin-shim (SQLite)', startOriginShim);
