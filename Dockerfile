# server-app, the sample service of sample_project/.
# Online: docker build -t server-app .
# Offline, on the image scripts/build-offline-images makes from Debian's packages:
#   docker build --build-arg BASE_IMAGE=minirunner/python:3.11 -t server-app .
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# Debian's pip refuses to touch the system Python ("externally managed") even when
# every requirement is met; the official image ignores this variable.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY sample_project/requirements.txt ./requirements.txt
# With Flask preinstalled (the offline base), this is satisfied without network.
RUN pip install --no-cache-dir -r requirements.txt

COPY sample_project/ ./sample_project/
EXPOSE 8000
CMD ["python3", "-m", "sample_project"]
