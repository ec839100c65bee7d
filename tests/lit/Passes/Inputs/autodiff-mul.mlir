func.func @m(%ids: tensor<?x?xi32>) -> tensor<?x?x16xf32> attributes {hybrid.model = "m"} {
  %e = hybrid.param "embed" : tensor<16x8xf32>
  %h = hybrid.embedding %e, %ids : (tensor<16x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  %s = hybrid.silu %h : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %y = hybrid.mul %h, %s : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %l = hybrid.lm_head %y, %e : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  return %l : tensor<?x?x16xf32>
}
