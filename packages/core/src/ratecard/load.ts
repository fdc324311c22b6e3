import { readFile } from 'node:fs/promises';
import { TollgateError } from '../errors.ts';
import type { CompiledRateCard } from './compile.ts';
import { parseRateCardOrThrow } from './parse.ts';

/** Reads and compiles a rate card file; throws RateCardError listing every problem, with the file. */
export async function loadRateCardFile(path: string): Promise<CompiledRateCard> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new TollgateError(`cannot read rate card ${path}`, { code: 'TG_RATECARD_UNREADABLE', cause: err });
  }
  return parseRateCardOrThrow(text, path);
}
