"""The build step that ships recipes/*.yaml inside the package (the rest is in pyproject.toml).

The recipes stay at the top of the checkout, one source for users, docs and tests; a wheel carries
them as mitmrelay/recipes/ so `mitmrelay run NAME` works without the checkout. setuptools' package
data cannot reach outside the package folder and data-files land outside the package (under the
environment's prefix, not found by the code), hence a copy at build time.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RECIPES = Path(__file__).resolve().parent / "recipes"


class BuildWithRecipes(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "mitmrelay" / "recipes"
        target.mkdir(parents=True, exist_ok=True)
        for recipe in sorted(RECIPES.glob("*.yaml")):
            shutil.copy2(recipe, target / recipe.name)


setup(cmdclass={"build_py": BuildWithRecipes})
