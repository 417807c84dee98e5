"""Every capstone run, as a :class:`~experiments.capstone.spec.Spec`: the zoo's (lesson 09's comparisons and the
champion) and the research runs beyond the course. Each is its parent with one idea changed, or declares the
fields it changes and why. The measured results are in ``benchmarks/results/<name>-*-full.json``.
"""
from __future__ import annotations

from .spec import Data, Network, Schedule, Spec, Trainer, derive

_ONE_STEP = ("a one-step method: steps 1 goes with it, and early stopping on PGD-20 accuracy is how one-step "
             "training is run, against catastrophic overfitting (Wong et al. 2020)")

CAPSTONE = Spec(
    name="capstone", parent=None,
    description="lesson 09's robust model: Wong et al.'s (2020) small CNN, PGD-10 adversarial training at L-inf "
                "eps 0.3, eps ramped over the first 30% of steps, one-cycle Adam peaking at 5e-3, batch 100",
    network=Network(width=1),
    trainer=Trainer(method="pgd", eps=0.3, steps=10, mix=1.0),
    schedule=Schedule(epochs=(8, 40), peak_learning_rate=5e-3, warmup_fraction=0.3),
    data=Data(),
    note="The root of every run here: the zoo's 'capstone'.")

NO_WARMUP = derive(CAPSTONE, "capstone_no_warmup", "the capstone recipe without the eps warm-up",
                   schedule={"warmup_fraction": 0.0},
                   note="Lesson 09: does ramping eps up matter?")
FGSM = derive(CAPSTONE, "capstone_fgsm", "the capstone recipe with plain FGSM adversarial training (no random start) "
              "and early stopping on PGD-20 accuracy",
              trainer={"method": "fgsm", "steps": 1, "early_stopping": True},
              changes=("trainer.method", "trainer.steps", "trainer.early_stopping"), changes_reason=_ONE_STEP,
              note="Lesson 09: the attack of Goodfellow et al. 2015, on adversarial examples only.")
FAST = derive(CAPSTONE, "capstone_fast", "the capstone recipe with fast adversarial training (FGSM from a random "
              "start, step 1.25 times the current eps) and early stopping on PGD-20 accuracy",
              trainer={"method": "fast", "steps": 1, "early_stopping": True},
              changes=("trainer.method", "trainer.steps", "trainer.early_stopping"), changes_reason=_ONE_STEP,
              note="Lesson 09: Wong et al. 2020's fast adversarial training.")
FAST_LARGE_STEP = derive(FAST, "capstone_fast_large_step", "capstone_fast with a step of 2 times the current eps",
                         trainer={"step_ratio": 2.0},
                         note="Lesson 09's exercise 3: from a random start in the ball, any step of at least 2 eps "
                              "clips to eps times the sign of the gradient at that start, the same batch for every "
                              "such step, yet not FGSM's, whose gradient is taken at the clean image.")
TRADES = derive(CAPSTONE, "capstone_trades", "the capstone recipe with TRADES (Zhang et al. 2019; KL inner "
                "maximisation, PGD-10, beta 6) instead of PGD's cross-entropy",
                trainer={"method": "trades", "beta": 6.0},
                changes=("trainer.method", "trainer.beta"),
                changes_reason="TRADES' loss needs its beta, PGD's has none: 6, the paper's",
                note="Lesson 09: a different loss for the same attack budget.")
WIDE = derive(CAPSTONE, "capstone_wide", "the capstone recipe on the CNN twice as wide (4x the parameters)",
              network={"width": 2},
              note="Lesson 09 (full mode): capacity, as Madry et al. found robustness needs it.")
SMALLCNN = derive(TRADES, "capstone_trades_smallcnn", "TRADES (beta 6, PGD-10) on TRADES' own deeper MNIST CNN "
                  "with max pooling (Zhang et al. 2019; 312k parameters), 10 epochs in full mode (2 in quick)",
                  network={"architecture": "trades_smallcnn"}, schedule={"epochs": (2, 10)},
                  changes=("network.architecture", "schedule.epochs"),
                  changes_reason="about 16x the capstone CNN's compute per image, so 10 epochs to stay near the "
                                 "45-minute budget on 2 CPU cores",
                  note="Lesson 09 (full mode). Against the capstone it changes three things (network, method, "
                       "epochs), so it shows what the combination buys, not which part of it.")
AVERAGED = derive(SMALLCNN, "capstone_trades_smallcnn_avg", "capstone_trades_smallcnn with model weight averaging "
                  "(an exponential moving average of the weights, decay 0.999; Gowal et al. 2020)",
                  schedule={"weight_average": 0.999},
                  note="Lesson 09 (full mode). The same run as capstone_trades_smallcnn (same seed), keeping the "
                       "moving average of its weights.")
SILU = derive(AVERAGED, "capstone_trades_smallcnn_silu_avg", "capstone_trades_smallcnn_avg with SiLU (swish, "
              "x * sigmoid(x)) in place of every ReLU (Gowal et al. 2020)",
              network={"activation": "silu"},
              note="SiLU in place of ReLU, as in Gowal et al. 2020's MNIST model.")
AVG12 = derive(AVERAGED, "capstone_trades_smallcnn_avg12", "capstone_trades_smallcnn_avg for 12 epochs in full mode "
               "instead of 10 (2 in quick)",
               schedule={"epochs": (2, 12)},
               note="12 epochs: what fits in 45 minutes on a quiet CPU at ~205 s per epoch; the one-cycle schedule "
                    "and the eps warm-up stretch with them.")
AVG15 = derive(AVERAGED, "capstone_trades_smallcnn_avg15", "capstone_trades_smallcnn_avg for 15 epochs in full mode "
               "instead of 10 (2 in quick)",
               schedule={"epochs": (2, 15)},
               note="15 epochs: the most that fits the 45-minute budget with a margin for a slower day (~150 s per "
                    "epoch on a quiet CPU, up to ~200 s on a busy one).")
SHIFTED = derive(AVG12, "capstone_trades_smallcnn_avg12_shift", "the champion: capstone_trades_smallcnn_avg12 with "
                 "every training image moved by a random offset of up to 2 pixels per axis on every pass",
                 data={"shift_pixels": 2},
                 note="Random shifts against the gap between the training batches' robustness (98.6%) and the test "
                      "images' (~93%). The best complete AutoAttack result so far: the zoo keeps it as "
                      "zoo.CHAMPION.")
BETA9 = derive(SHIFTED, "capstone_trades_smallcnn_avg12_shift_beta9", "capstone_trades_smallcnn_avg12_shift with "
               "TRADES beta 9 instead of 6",
               trainer={"beta": 9.0},
               note="Spends some of the clean accuracy the shifts bought.")
AWP = derive(SHIFTED, "capstone_trades_smallcnn_avg12_shift_awp", "capstone_trades_smallcnn_avg12_shift with "
             "adversarial weight perturbation (AWP, gamma 0.005; Wu, Xia & Wang 2020)",
             trainer={"awp_gamma": 0.005},
             note="Aimed like the shifts at the gap between the training batches' robustness and the test images'; "
                  "gamma 0.005 as Wu et al. used with TRADES on CIFAR-10 (their paper has no MNIST runs), applied "
                  "from the first step (their code waits 10 epochs).")
DROPOUT = derive(SHIFTED, "capstone_trades_smallcnn_avg12_shift_dropout", "capstone_trades_smallcnn_avg12_shift "
                 "with TRADES' Dropout(0.5) between the two Dense(200) layers",
                 network={"dropout": 0.5},
                 note="The Dropout(0.5) that TRADES' published network has and ours left out: another regulariser "
                      "against the same gap.")
WIDER = derive(SHIFTED, "capstone_trades_smallcnn_w15_shift", "capstone_trades_smallcnn_avg12_shift on the network "
               "1.5 times as wide (48/96 channels, Dense(300); 700k parameters), 9 epochs in full mode (2 in quick)",
               network={"width": 1.5}, schedule={"epochs": (2, 9)},
               changes=("network.width", "schedule.epochs"),
               changes_reason="2.2x the parameters take 1.9x the time per batch measured here, so 9 epochs instead "
                              "of 12 to stay inside the 45-minute budget on 2 CPU cores",
               note="Model capacity, the lever the issue names, tried on the deeper network.")
STEPS20 = derive(SHIFTED, "capstone_trades_smallcnn_shift_steps20", "capstone_trades_smallcnn_avg12_shift with "
                 "TRADES' inner maximisation in 20 PGD steps of 2.5 eps / 20 instead of 10 of 2.5 eps / 10, 9 epochs "
                 "in full mode (2 in quick)",
                 trainer={"steps": 20}, schedule={"epochs": (2, 9)},
                 changes=("trainer.steps", "schedule.epochs"),
                 changes_reason="1.9x the time per epoch (15.6x standard training against 8.4x), so 9 epochs "
                                "instead of 12 to stay inside the 45-minute budget",
                 note="A stronger inner attack: TRADES' KL maximised with 20 PGD steps of 0.0375 at eps 0.3 instead "
                      "of 10 of 0.075, finer steps, as Zhang et al.'s MNIST run used (40 of 0.01).")
SHIFT18 = derive(SHIFTED, "capstone_trades_smallcnn_shift18", "capstone_trades_smallcnn_avg12_shift for 18 epochs in "
                 "full mode instead of 12 (2 in quick): 1.5 times the training time",
                 schedule={"epochs": (2, 18)},
                 note="Does training time limit it? About 41 minutes on the 12-epoch run's day (137 s per epoch), 74 "
                      "on the slower day it was measured (245 s). The one-cycle schedule, the eps warm-up (30% of "
                      "the steps) and the averaging stretch with the epochs.")
MART = derive(SHIFTED, "capstone_smallcnn_shift_mart", "capstone_trades_smallcnn_avg12_shift with MART (Wang et al. "
              "2020, beta 6) in place of TRADES: the inner attack maximises cross-entropy, the loss weighs the "
              "misclassified examples most",
              trainer={"method": "mart"},
              note="MART's loss in place of TRADES': cross-entropy inner attack, boosted cross-entropy on the "
                   "adversarial example, the KL term weighted by the clean prediction's error.")
EPS033 = derive(AVERAGED, "capstone_trades_smallcnn_avg_eps033", "capstone_trades_smallcnn_avg trained at L-inf eps "
                "0.33 instead of 0.3 (evaluated at 0.3 like every other)",
                trainer={"eps": 0.33},
                note="Training at 10% beyond the eps every evaluation uses.")

SPECS: dict[str, Spec] = {spec.name: spec for spec in (
    CAPSTONE, NO_WARMUP, FGSM, FAST, FAST_LARGE_STEP, TRADES, WIDE, SMALLCNN, AVERAGED, SILU, AVG12, AVG15, SHIFTED,
    BETA9, AWP, DROPOUT, WIDER, STEPS20, SHIFT18, MART, EPS033)}
