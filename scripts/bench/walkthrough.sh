#!/usr/bin/env bash
# The AWS JITP walkthrough as a shell script with the real tools (openssl, the AWS CLI,
# mosquitto_pub), one command per documented step, against a running local IoT Core.
# make bench times it beside `jitpwiz run --yes`.
# usage: walkthrough.sh ENDPOINT_URL MQTT_HOST MQTT_PORT SERVER_CA THING CA_ORG rsa|ec
set -euo pipefail
EP=$1 HOST=$2 PORT=$3 SERVER_CA=$4 THING=$5 ORG=$6 KEY=$7
AWSCLI=${AWSCLI:-aws}
aws_() { "$AWSCLI" --endpoint-url "$EP" --region us-east-2 --output text "$@"; }
genkey() {
	if [ "$KEY" = rsa ]; then openssl genrsa -out "$1" 2048 2>/dev/null
	else openssl ecparam -name prime256v1 -genkey -noout -out "$1"; fi
	chmod 600 "$1"
}
# 1–3: CA key, OpenSSL conf, CA certificate.
genkey deviceRootCA.key
cat > deviceRootCA_openssl.conf <<CONF
[ req ]
distinguished_name       = req_distinguished_name
extensions               = v3_ca
req_extensions           = v3_ca

[ v3_ca ]
basicConstraints         = CA:TRUE

[ req_distinguished_name ]
countryName              = Country Name (2 letter code)
countryName_default      = IN
organizationName         = Organization Name (eg, company)
organizationName_default = $ORG
CONF
openssl req -new -sha256 -key deviceRootCA.key -nodes -out deviceRootCA.csr -config deviceRootCA_openssl.conf -subj "/C=IN/O=$ORG"
openssl x509 -req -days 3650 -extfile deviceRootCA_openssl.conf -extensions v3_ca -in deviceRootCA.csr -signkey deviceRootCA.key -out deviceRootCA.pem 2>/dev/null
# 4–5: registration code, verification certificate.
CODE=$(aws_ iot get-registration-code --query registrationCode)
genkey verificationCert.key
openssl req -new -key verificationCert.key -out verificationCert.csr -subj "/CN=$CODE"
openssl x509 -req -in verificationCert.csr -CA deviceRootCA.pem -CAkey deviceRootCA.key -CAcreateserial -out verificationCert.crt -days 500 -sha256 2>/dev/null
# 6: provisioning role (reused when it exists).
if ! aws_ iam get-role --role-name JITPRole >/dev/null 2>&1; then
	cat > trust.json <<'JSON'
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}]}
JSON
	aws_ iam create-role --role-name JITPRole --assume-role-policy-document file://trust.json >/dev/null
	aws_ iam attach-role-policy --role-name JITPRole --policy-arn arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration
fi
# 7–8: template (written by the caller as jitp_template.json), register the CA.
aws_ iot register-ca-certificate --ca-certificate file://deviceRootCA.pem --verification-certificate file://verificationCert.crt \
	--set-as-active --allow-auto-registration --registration-config file://jitp_template.json >/dev/null
# 9: device certificate and bundle.
genkey deviceCert.key
openssl req -new -key deviceCert.key -out deviceCert.csr -subj "/C=IN/CN=$THING"
openssl x509 -req -in deviceCert.csr -CA deviceRootCA.pem -CAkey deviceRootCA.key -CAcreateserial -out deviceCert.crt -days 365 -sha256 2>/dev/null
cat deviceCert.crt deviceRootCA.pem > deviceCertAndCACert.crt
# 10–11: first connect (the broker drops it while it provisions).
mosquitto_pub --cafile "$SERVER_CA" --cert deviceCertAndCACert.crt --key deviceCert.key -h "$HOST" -p "$PORT" -q 1 -t foo/bar \
	-i anyclientID --tls-version tlsv1.2 -m "Hello" >/dev/null 2>&1 || true
# 12: verify.
CERT_ID=$(openssl x509 -in deviceCert.crt -outform der | sha256sum | cut -d' ' -f1)
for _ in $(seq 50); do
	[ "$(aws_ iot describe-certificate --certificate-id "$CERT_ID" --query certificateDescription.status)" = ACTIVE ] && break
	sleep 0.1
done
aws_ iot describe-thing --thing-name "$THING" >/dev/null
aws_ iot list-thing-principals --thing-name "$THING" >/dev/null
POLICY=$(aws_ iot list-attached-policies --target "arn:aws:iot:us-east-2:123456789012:cert/$CERT_ID" --query 'policies[0].policyName')
aws_ iot get-policy --policy-name "$POLICY" >/dev/null
# 13: use it, as the thing.
mosquitto_pub --cafile "$SERVER_CA" --cert deviceCert.crt --key deviceCert.key -h "$HOST" -p "$PORT" -q 1 -t "$THING/test" \
	-i "$THING" --tls-version tlsv1.2 -m "Hello from $THING"
