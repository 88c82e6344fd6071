// tfjs-core's Node build ships without gradient functions (the union @tensorflow/tfjs package
// registers them). Node cannot load this ESM file from node_modules (extensionless imports), so
// vitest inlines it and scripts/build-node.mjs bundles it; it registers into tfjs' global
// registries. main/ml/model/gradients.ts does the same for the models; importing both is harmless.
import '@tensorflow/tfjs-core/dist/register_all_gradients'
