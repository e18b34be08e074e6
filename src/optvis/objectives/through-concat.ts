// A channel or neuron term on the output of a channel Concat (an inception block's output) depends on one
// input only: the branch that holds its channel. Reading that input instead leaves the other branches to
// nothing but the Concat, and with the Concat unread (no other term, diversity or output needs it) the
// compiler prunes them, forward and backward. Nested Concats are followed down.
import type { Graph, Node } from '../../onnx/ir.ts';
import { getInt } from '../../onnx/ir.ts';
import type { ResolvedTerm } from './build.ts';

function channelConcat(g: Graph, producer: Node | undefined): Node | undefined {
  if (!producer || producer.opType !== 'Concat' || producer.domain !== '') return undefined;
  const rank = g.valueTypes.get(producer.outputs[0]!)?.shape.length ?? 0;
  const axis = getInt(producer, 'axis', 0);
  return rank >= 2 && (axis === 1 || axis === 1 - rank) ? producer : undefined;
}

/** The term read from the Concat input that holds its channel (itself when its tensor is not a channel Concat's output). */
export function throughConcat(g: Graph, term: ResolvedTerm, producers: Map<string, Node>): ResolvedTerm {
  const t = term.target;
  if (t.kind !== 'channel' && t.kind !== 'neuron') return term;
  let name = term.tensor;
  let channel = t.channel;
  for (let concat = channelConcat(g, producers.get(name)); concat; concat = channelConcat(g, producers.get(name))) {
    let offset = 0;
    let into: string | undefined;
    for (const input of concat.inputs) {
      const c = g.valueTypes.get(input)?.shape[1];
      if (typeof c !== 'number' || g.initializers.has(input)) return retarget(g, term, name, channel);
      if (channel < offset + c) {
        into = input;
        break;
      }
      offset += c;
    }
    if (!into) break;
    name = into;
    channel -= offset;
  }
  return retarget(g, term, name, channel);
}

function retarget(g: Graph, term: ResolvedTerm, name: string, channel: number): ResolvedTerm {
  if (name === term.tensor) return term;
  const shape = g.valueTypes.get(name)!.shape as number[];
  return { ...term, tensor: name, shape, target: { ...term.target, tensor: name, channel } as ResolvedTerm['target'] };
}

/** Producer of each value, for throughConcat. */
export function producersOf(g: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) m.set(o, n);
  return m;
}
