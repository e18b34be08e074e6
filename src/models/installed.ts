// Which file of an installed model folder is the model: the card's `model`, else the folder's only .onnx.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function installedCardFile(dir: string): string | undefined {
  const p = join(dir, 'card.json');
  return existsSync(p) ? p : undefined;
}

export function installedModelFile(dir: string): string | undefined {
  const card = installedCardFile(dir);
  if (card) {
    try {
      const m = (JSON.parse(readFileSync(card, 'utf8')) as { model?: unknown }).model;
      if (typeof m === 'string' && existsSync(join(dir, m))) return join(dir, m);
    } catch {
      /* fall through to the folder's .onnx */
    }
  }
  const onnx = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.onnx')) : [];
  return onnx.length === 1 ? join(dir, onnx[0]!) : undefined;
}
