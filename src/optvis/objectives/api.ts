// Objectives as values that compose, as in Lucid: channel('mixed4c', 97).plus(neuron('mixed4d', 3, 5, 5)
// .times(0.5)), classLogit('cat').neg(), channel(l, 1).batch(0).plus(channel(l, 2).batch(1)),
// channel(l, 4).plus(diversity(l).times(0.1)). An Objective is what the text grammar parses to, plus
// batch indices and diversity, which the grammar has no words for.
import { FvizError } from '../../errors.ts';
import { formatTarget, parseObjective, type DiversityTerm, type ObjectiveAst, type Target, type Term } from './parse.ts';

export class Objective {
  readonly terms: readonly Term[];
  readonly diversityTerms: readonly DiversityTerm[];

  constructor(terms: readonly Term[], diversityTerms: readonly DiversityTerm[] = []) {
    this.terms = terms;
    this.diversityTerms = diversityTerms;
  }

  /** The sum of both objectives. */
  plus(other: Objective | string): Objective {
    const o = objective(other);
    return new Objective([...this.terms, ...o.terms], [...this.diversityTerms, ...o.diversityTerms]);
  }

  minus(other: Objective | string): Objective {
    return this.plus(objective(other).neg());
  }

  /** Every weight times k. */
  times(k: number): Objective {
    if (!Number.isFinite(k)) throw new FvizError(`objective weight ${k} is not a finite number`);
    return new Objective(
      this.terms.map((t) => ({ ...t, weight: t.weight * k })),
      this.diversityTerms.map((d) => ({ ...d, weight: d.weight * k })),
    );
  }

  neg(): Objective {
    return this.times(-1);
  }

  /** The same terms, for batch member b only (the others are free to do anything). */
  batch(b: number): Objective {
    if (!Number.isInteger(b) || b < 0) throw new FvizError(`batch index ${b} is not a non-negative integer`);
    if (this.diversityTerms.length) throw new FvizError('diversity compares the batch members with each other: it has no batch index');
    return new Objective(this.terms.map((t) => ({ ...t, batch: b })));
  }

  /** The text form: the grammar where it can say it, `[b]` after a batch-indexed term, `diversity(L)`. */
  toString(): string {
    const parts = [
      ...this.terms.map((t) => ({ weight: t.weight, text: `${formatTarget(t.target)}${t.batch === undefined ? '' : `[${t.batch}]`}` })),
      ...this.diversityTerms.map((d) => ({ weight: d.weight, text: `diversity(${d.layer})` })),
    ];
    return parts
      .map((p, i) => {
        const w = Math.abs(p.weight);
        const body = w === 1 ? p.text : `${w}*${p.text}`;
        return i === 0 ? (p.weight < 0 ? `-${body}` : body) : `${p.weight < 0 ? '-' : '+'} ${body}`;
      })
      .join(' ');
  }

  toAst(): ObjectiveAst {
    const ast: ObjectiveAst = { text: this.toString(), terms: this.terms.map((t) => ({ ...t })) };
    if (this.diversityTerms.length) ast.diversity = this.diversityTerms.map((d) => ({ ...d }));
    return ast;
  }
}

const single = (target: Target) => new Objective([{ weight: 1, target }]);

/** Text in the grammar (class:cat, conv2:5@3,4, "0.5*a:1 + b:2") or an Objective as it is. */
export function objective(o: Objective | string): Objective {
  return typeof o === 'string' ? new Objective(parseObjective(o).terms) : o;
}

/** Channel c of an N x C x H x W tensor, mean over positions (element c of an N x K tensor). */
export const channel = (layer: string, c: number): Objective => single({ kind: 'channel', tensor: layer, channel: c });

/** One neuron: channel c at row y, column x. */
export const neuron = (layer: string, c: number, y: number, x: number): Objective => single({ kind: 'neuron', tensor: layer, channel: c, y, x });

/** The pre-softmax logit of class k (an index, or a label of the classifier's card). */
export const classLogit = (k: number | string): Objective => single({ kind: 'class', cls: k });

/** The mean of squares of a whole layer (DeepDream). */
export const layer = (name: string): Objective => single({ kind: 'layer', tensor: name });

/** Lucid's diversity at a layer: minus the mean pairwise similarity of the batch's Gram matrices. */
export const diversity = (layerName: string): Objective => new Objective([], [{ weight: 1, layer: layerName }]);
