"""The tabs under the Explorer's data map, one module each; each has a `render` and draws from cached
catalog queries (app.cached), never recomputing what the catalog holds."""
