"""Print latte-metrics 0.0.1a6's values on the fixed cases of ``metrics_reference.latte_case``.

Not a test. latte-metrics does not install here (not on the package index; it needs
Python < 3.11), so it is run from its source at tag-less commit 623fae2 ("bump version",
version 0.0.1-alpha6 in setup.cfg) of github.com/karnwatcharasupat/latte. Nothing of it is
in this repository. To reproduce the numbers pinned in ``test_metrics_conformance.py``:

    git clone https://github.com/karnwatcharasupat/latte /tmp/latte && cd /tmp/latte
    git checkout 623fae2bad31aeb1f981124243813ca842c5346a
    mkdir -p /tmp/latte_ref/latte/functional/disentanglement
    for f in __init__.py functional/__init__.py functional/disentanglement/__init__.py \\
             functional/disentanglement/_utils.py functional/disentanglement/mutual_info.py \\
             functional/disentanglement/modularity.py; do
        git show HEAD:src/latte/$f > /tmp/latte_ref/latte/$f; done
    cd <repo> && PYTHONPATH=/tmp/latte_ref:tests \\
        python tests/unit/metrics/produce_latte_reference.py

(copying only these modules avoids latte's optional torch/keras wrappers). Values were
produced with NumPy 2.4.6 and scikit-learn 1.9.1 on x86-64 (AVX-512).
"""

from __future__ import annotations

import metrics_reference as ref
import numpy as np


def main() -> None:
    import latte
    from latte.functional.disentanglement import modularity as lmod
    from latte.functional.disentanglement import mutual_info as lmi

    for name in ref.LATTE_CASES:
        z, f, rs = ref.latte_case(name)
        latte.seed(rs)
        out = {
            "mig": lmi.mig(z, f, discrete=True),
            "dmig": lmi.dmig(z, f, discrete=True),
            "dlig": lmi.dlig(z, f, discrete=True),
            "modularity": lmod.modularity(z, f, discrete=True),
        }
        if z.shape[1] > f.shape[1]:
            out["xmig"] = lmi.xmig(z, f, discrete=True)
        print(f"    {name!r}: {{")
        for key, val in out.items():
            print(f"        {key!r}: {[float(v) for v in np.asarray(val)]!r},")
        print("    },")


if __name__ == "__main__":
    main()
