import sys
from pathlib import Path

# sophia.lambda_swarm resolves to this checkout through the link `make collection-link` makes.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))
