// Shared by the tests of user-input errors: run `fn` and return the HvlabError it throws.
import { expect } from 'vitest';
import { HvlabError } from '../../src/errors.js';

export function errorOf(fn: () => unknown): HvlabError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HvlabError);
    return e as HvlabError;
  }
  throw new Error('expected an HvlabError, but nothing was thrown');
}
