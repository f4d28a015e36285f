# Builds the three sanlink binaries; docker-compose.yml picks one per service.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev libmariadb-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The production binaries need both server backends (Cargo features), which link libpq
# and libmariadb.
RUN cargo build --release --features postgres,mysql --bin sanlink --bin api-gateway --bin conductor

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 libmariadb3 ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/sanlink /src/target/release/api-gateway /src/target/release/conductor /usr/local/bin/
EXPOSE 6385
CMD ["sanlink"]
