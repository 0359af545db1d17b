"""AW-Net (sample-wise dynamic network): AW layers, MixBN, the multi-head router, and conversion of backbones.

Importing this package registers, for each backbone in small-cnn, resnet18, preact-resnet18, wrn-34-10 and
wrn-28-10, two designs in the model zoo: `aw-<backbone>`, the full two-bank design (the paper's), and
`aw-lr-<backbone>`, the low-rank one; `model_zoo.create("aw-resnet18", ...)` is `Sequential(normalize,
net=AWNet)`. Their options (router input, shortcut, width, low-rank fraction) are in options.py.

Routing interface (attacks, evaluation and training code against this, and only this):

    routing(model: nn.Module) -> AWNet | None
        The AWNet inside any model (inside Sequential(normalize, net), DDP or torch.compile wrappers); None
        for a static model.
    is_dynamic(model: nn.Module) -> bool
        routing(model) is not None.
    awnet.last_detection_logit: torch.Tensor | None
        [N] logit of p(adversarial | x) from the most recent forward; NOT detached, so an adaptive attack
        can differentiate it (e.g. loss - beta * logsigmoid(logit)). The forward's input is the normalised
        image; gradients flow back to the raw pixels through Normalize.
    awnet.last_signals: dict[str, torch.Tensor]
        layer name (relative to awnet.backbone, e.g. "layer1.0.conv1") -> [N, C] regulation signals in
        [0, 1] of the most recent forward; one entry per AW conv (AWConv2d / LowRankAWConv2d; C = its
        filters) and per MixBN (C = its channels).
    with awnet.pinned(mode):            # mode in {"clean", "adversarial"}
        Every regulation signal is fixed to 0 ("clean") or 1 ("adversarial") inside; the detection head is
        still computed (last_detection_logit stays valid). Contexts nest; the previous mode is restored.
    with awnet.split_batch(n_clean):
        A training-mode forward of the concatenated batch [clean (n_clean); adversarial (rest)] normalises
        each part with its own MixBN branch (and updates that branch's running statistics). Conv signals
        still come from the router. No effect in eval mode (there MixBN blends by the router's signal).

Building blocks: `AWConv2d` (full two-bank conv), `LowRankAWConv2d` (adversarial bank = clean bank + a
rank-limited correction), `MixBN`, `Router`, `AWNet`, `convert(module)` (in-place layer swap) and
`make_aw(backbone, adversarial_rank_fraction=...)` (convert + wrap). Design choices and deviations are
documented in each module; the main ones:
  * aw-* use AWConv2d: two full banks, so the clean filters get only the clean path's gradient and keep a
    distribution of their own (the paper's premise). aw-lr-* use LowRankAWConv2d with rank = ceil(f * filters)
    (f = DEFAULT_ADVERSARIAL_RANK_FRACTION unless set): cheaper, but the clean filters serve both paths.
  * By default the router reads the image's high-frequency residual, and each signal head adds the detection
    logit (routing follows the detector from the first step); both are options, see router.py.
  * Checkpoints written before the designs were named say `aw-<backbone>` for the low-rank design;
    `migrate_metadata` (called by awbench.checkpoint.load) maps them to `aw-lr-<backbone>`.
"""

from model_zoo.aw import architectures  # noqa: F401  (registers the aw-* architectures)
from model_zoo.aw.conv import AWConv2d
from model_zoo.aw.convert import DEFAULT_ADVERSARIAL_RANK_FRACTION, convert, make_aw
from model_zoo.aw.functional import add_scaled, blend_banks, per_sample_affine
from model_zoo.aw.lowrank import LowRankAWConv2d
from model_zoo.aw.mixbn import MixBN
from model_zoo.aw.network import AW_CONVS, PIN_MODES, AWNet, aw_layers, is_dynamic, routing
from model_zoo.aw.options import AWOptions, describe_design, design_of, migrate_metadata
from model_zoo.aw.router import Router

__all__ = [
    "AW_CONVS", "DEFAULT_ADVERSARIAL_RANK_FRACTION", "PIN_MODES", "AWConv2d", "AWNet", "AWOptions", "LowRankAWConv2d",
    "MixBN", "Router", "add_scaled", "aw_layers", "blend_banks", "convert", "describe_design", "design_of",
    "is_dynamic", "make_aw", "migrate_metadata", "per_sample_affine", "routing",
]
