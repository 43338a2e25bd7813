"""The golden path: rendering Backstage skeletons locally (`wavegate init`) and adopting pipelines."""
