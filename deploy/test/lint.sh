#!/usr/bin/env bash
# cfn-lint over deploy/template.yaml, once with the template's own defaults and once with every
# combination of the parameters that switch resources or routing on and off (288 sets in one
# cfn-lint run, which resolves each set's values into the resources it lints; the alarms'
# parameters, AlarmTopicArn set or not, and PublicUrl ride along with AccessLogs to keep the
# count); then
# over deploy/container.yaml.
# Usage: deploy/test/lint.sh CFN_LINT
set -euo pipefail
cfn_lint=$1
cd "$(dirname "$0")/.."
"$cfn_lint" template.yaml
sets=()
for raw in lambda s3; do
  for cors in "" "*" "https://a.example,https://b.example"; do
    for avif in false true; do
      for waf in none rate acl; do
        for shield in "" us-east-1; do
          for logs in false true; do
            for multi in multipart whole; do
              set=(--parameters "RawOrigin=$raw" "CorsOrigins=$cors" "Avif=$avif"
                "OriginShieldRegion=$shield" "AccessLogs=$logs" "MultiRange=$multi" "Prefix=public/")
              if [ "$logs" = true ]; then
                set+=("AlarmTopicArn=arn:aws:sns:us-east-1:123456789012:imgorigin-alarms"
                  "MetricsNamespace=imgorigin/prod" "ErrorRateThreshold=0.1" "AbortRateThreshold=0"
                  "PublicUrl=https://images.example.com")
              fi
              case $waf in
                rate) set+=("RateLimit=2000") ;;
                acl) set+=("WebAclArn=arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/0123") ;;
              esac
              sets+=("${set[@]}")
            done
          done
        done
      done
    done
  done
done
"$cfn_lint" template.yaml --regions us-east-1 "${sets[@]}"
"$cfn_lint" container.yaml
echo "cfn-lint: template.yaml clean with its defaults and 288 parameter combinations; container.yaml clean"
