"""The smallest Erlen app; `make run` serves it until the blog example lands."""

from erlen import Erlen, request

app = Erlen(__name__)


@app.route("/")
def index() -> str:
    name = request.args.get("name", "World")
    return f"Hello, {name}!"


@app.get("/async")
async def hello_async() -> dict[str, str]:
    return {"hello": "async"}


if __name__ == "__main__":
    app.run(debug=True)
