"""Model storage beyond this machine: s3:// (AWS S3, Ceph RGW, MinIO) and folders. Scan a
model's files into artifacts, fetch an s3:// model into a content-addressed cache for a
build, publish a local model to s3://. boto3 is imported only where it is used."""
