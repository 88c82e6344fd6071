import type { Backbone, BackboneName, BackboneOptions } from './backbone'
import { EfficientNet } from './efficientnet'
import { MobileNetV2 } from './mobilenetv2'
import { ResNet } from './resnet'

export function createBackbone(name: BackboneName, options: BackboneOptions): Backbone {
  switch (name) {
    case 'efficientnet-b0':
    case 'efficientnet-b1':
    case 'efficientnet-b2':
    case 'efficientnet-b3':
      return new EfficientNet(name.slice('efficientnet-'.length) as 'b0' | 'b1' | 'b2' | 'b3', options)
    case 'mobilenetv2':
      return new MobileNetV2(options)
    case 'resnet18':
      return new ResNet(18, options)
    case 'resnet34':
      return new ResNet(34, options)
  }
}
