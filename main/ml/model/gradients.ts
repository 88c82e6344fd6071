// Registers tfjs-core's gradient functions (the union @tensorflow/tfjs package does this; we use
// tfjs-core alone). The file is ESM with extensionless imports that Node cannot load, so vitest
// inlines it and scripts/build-node.mjs bundles it; it shares the one global tfjs engine.
import '@tensorflow/tfjs-core/dist/register_all_gradients'
