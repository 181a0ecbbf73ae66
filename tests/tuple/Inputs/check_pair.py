"""check_pair.py X.npy OUTDIR: tuples.nn's pair(x) = (tanh(x), sum(x*x, 1)),
each result in its own file, against NumPy."""
import sys

import numpy as np

x = np.load(sys.argv[1]).astype(np.float64)
for name, want in (("result.0", np.tanh(x)), ("result.1", np.sum(x * x, axis=1))):
    got = np.load("%s/%s.npy" % (sys.argv[2], name))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    print(name, "ok")
