#!/usr/bin/env node
import { buildApp } from '../lib/app.ts';
import { InvalidConfigurationError } from '../lib/config.ts';

try {
  buildApp().app.synth();
} catch (error) {
  // A configuration mistake is the operator's to fix: the fields, not a stack trace.
  if (!(error instanceof InvalidConfigurationError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
