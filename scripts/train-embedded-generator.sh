#!/usr/bin/env bash
# Train the embedded DGN generator against the finished embedded classifier, then publish it into
# models/embedded/ (generator.onnx, generator.card.json, generator.bounds.txt, two sheets).
#
#   scripts/train-embedded-generator.sh            # train (or resume) into .cache/train-generator, then publish
#   COMMIT=1 scripts/train-embedded-generator.sh   # ... and commit the published files
#   EPOCHS=10 BATCH=64 OUT=.cache/tg scripts/train-embedded-generator.sh
#
# Resumable: run it again after an interruption (Ctrl-C, SIGKILL, reboot) and it continues from
# $OUT/last.ckpt with the same options. Wall time on the reference machine (2 shared CPU cores): see the
# estimate printed below; progress lines (losses, images/s, ETA) go to stderr and $OUT.log.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-.cache/train-generator}
EPOCHS=${EPOCHS:-8}
BATCH=${BATCH:-64}
CLASSIFIER=models/embedded/classifier.onnx

# The generator inverts the classifier's code layer: train it against the finished classifier only
# (an interim snapshot's fc6 changes as its training goes on). ALLOW_INTERIM=1 overrides, for smoke runs.
node -e '
  const c = JSON.parse(require("fs").readFileSync("models/embedded/classifier.card.json", "utf8"));
  const done = c.run ? c.run.finished === true : true;
  if (!done && process.env.ALLOW_INTERIM !== "1") {
    console.error(`models/embedded/classifier.onnx is an interim snapshot (epoch ${c.run.epochsCompleted}/${c.run.epochsPlanned}): publish the finished classifier first (ALLOW_INTERIM=1 to train against it anyway)`);
    process.exit(2);
  }'

RESUME=()
if [ -f "$OUT/last.ckpt" ]; then RESUME=(--resume); fi
mkdir -p "$OUT"
echo "training the generator into $OUT (${EPOCHS} epochs of 50,000 images at batch ${BATCH});"
# Measured on the reference machine, 2026-11-30 (batch 64, the committed run): 65-75 img/s while tests and
# benches shared the 2 cores, 95-100 img/s alone: 8.3-13 min per epoch, 1h18m for 8 epochs.
echo "expect ~9 min per epoch alone on 2 cores, ~13 min with other work beside it:"
echo "${EPOCHS} epochs = about $((EPOCHS * 9))-$((EPOCHS * 13)) min, plus ~1 min for the code-range scan and ~10-15 min for the final checks"

node bin/fviz.js train generator \
  --classifier "$CLASSIFIER" --data cifar10 --out "$OUT" \
  --arch cifar32 --discriminator cifar32 --comparator inception_5b/output \
  --epochs "$EPOCHS" --batch "$BATCH" --lr 1e-3 --schedule cosine \
  --w-pixel 5 --w-feature 1 --w-adv 0.05 --d-pause 0.1 \
  --dgn-start-steps 0.125,0.25,0.5 --dgn-bound-multiples 1,1.5,3 --dgn-check-seeds 4 \
  --checkpoint-every 100 "${RESUME[@]}" 2>&1 | tee -a "$OUT.log"

PUBLISH=(--from "$OUT")
if [ "${COMMIT:-}" = "1" ]; then PUBLISH+=(--commit); fi
node bin/run-ts.js scripts/train-embedded-generator-publish.ts "${PUBLISH[@]}"
