"""nbgitpuller links that open one of the course notebooks on a JupyterHub.

Following a link clones the repository into the student's home (later visits merge new commits
without overwriting their edits) and then opens the notebook. The format is nbgitpuller's
(https://nbgitpuller.readthedocs.io/en/latest/topic/url-options.html, checked against 1.3.0):

    {hub}/hub/user-redirect/git-pull?repo=...&branch=...&urlpath=...

    python deploy/nbgitpuller_link.py https://hub.example.org                # a link per notebook
    python deploy/nbgitpuller_link.py https://hub.example.org 04_denoising   # one link
"""
import argparse
import sys
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO = "https://github.com/aeteach/aeteach"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
# urlpath prefixes from nbgitpuller's own link generator; the image has JupyterLab and Notebook 7
# (repo2docker's base environment) but none of RetroLab, RStudio or Shiny, its other choices
APPS = {"lab": "lab/tree/", "classic": "tree/"}


def notebook_names():
    """The suite's notebooks, e.g. '00_start_here.ipynb'."""
    return sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def clone_dir(repo):
    """The folder nbgitpuller clones `repo` into: its last path segment, as nbgitpuller's handler
    computes it (so '.../aeteach.git' becomes 'aeteach.git', not 'aeteach')."""
    return repo.rstrip("/").split("/")[-1]


def _check_http_url(what, url):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{what} must be an http:// or https:// URL, got {url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"{what} must have no ?query or #fragment, got {url!r}")


def link(hub, repo=REPO, branch="main", path="notebooks/00_start_here.ipynb", app="lab"):
    """The nbgitpuller link that pulls `branch` of `repo` and opens `path` (relative to the
    repository root) in `app` ('lab' or 'classic') on the JupyterHub at `hub`."""
    _check_http_url("hub", hub)
    # a student's pod clones anonymously: an ssh URL would need keys it does not have
    _check_http_url("repo", repo)
    if not branch or any(c.isspace() for c in branch):
        raise ValueError(f"branch must be a git branch name, got {branch!r}")
    if app not in APPS:
        raise ValueError(f"app must be one of {', '.join(APPS)}, got {app!r}")
    if path.startswith("/") or ".." in path.split("/"):
        raise ValueError(f"path must be relative to the repository root, got {path!r}")
    folder, _, name = path.partition("/")
    if folder == "notebooks" and name:
        if name not in notebook_names():
            raise ValueError(f"no notebook {name!r} in notebooks/; the notebooks are: "
                             + ", ".join(notebook_names()))
    # urlpath is relative to the server's root (the home), so it starts with the clone's folder
    query = {"repo": repo, "branch": branch, "urlpath": APPS[app] + clone_dir(repo) + "/" + path}
    return hub.rstrip("/") + "/hub/user-redirect/git-pull?" + urlencode(query)


def _notebook_path(name):
    """'04_denoising', '04_denoising.ipynb' or 'notebooks/04_denoising.ipynb' -> the last."""
    name = name.removeprefix("notebooks/")
    return "notebooks/" + (name if name.endswith(".ipynb") else name + ".ipynb")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("hub", help="the JupyterHub's URL, e.g. https://hub.example.org")
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                        help="e.g. 04_denoising (default: every notebook, one line each)")
    parser.add_argument("--repo", default=REPO, help=f"the git repository to pull (default {REPO})")
    parser.add_argument("--branch", default="main", help="the branch to pull (default main)")
    parser.add_argument("--app", default="lab", choices=list(APPS), help="the interface (default lab)")
    args = parser.parse_args(argv)
    try:
        if args.notebooks:
            for name in args.notebooks:
                print(link(args.hub, args.repo, args.branch, _notebook_path(name), args.app))
        else:
            for name in notebook_names():
                print(f"{name.removesuffix('.ipynb')}\t"
                      f"{link(args.hub, args.repo, args.branch, 'notebooks/' + name, args.app)}")
    except ValueError as e:
        parser.error(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
