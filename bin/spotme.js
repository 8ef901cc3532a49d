#!/usr/bin/env node
// Runs cmd/spotme.ts through tsx's loader, so the TypeScript sources run as they are (no build step).
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every start under Node 20 that its releases after early 2027 need Node 22;
// package-lock.json pins a release that runs on Node 20, so the warning is only noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../cmd/spotme.ts');
